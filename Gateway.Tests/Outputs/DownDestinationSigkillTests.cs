using System.Collections.Concurrent;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Outputs;

/// <summary>
/// The published binary (`make publish`), its only destination down, the spool on: a part for a down destination
/// goes to the spool at once, never into memory, so SIGKILL under load loses nothing that was answered 200 (the
/// page cache outlives the process). Before, the batches waiting in the down destination's queue were lost:
/// 5,000 of 250,000 in the run.
/// </summary>
[Category("faults")]
public class DownDestinationSigkillTests
{
    private static string[] Args(int port, string spoolDir) =>
        ["-dev-mode", "-listen-addr", "127.0.0.1", "-listen-http-port", "0", "-destinations", $"127.0.0.1:{port}",
         "-spool-dir", spoolDir, "-summary-interval", "0"];

    [Test]
    public async Task Sigkill_while_the_destination_is_down_loses_nothing_answered_200()
    {
        string binary = GatewayProcess.NativeBinary;
        await Assert.That(File.Exists(binary)).IsTrue().Because($"run `make publish` first: {binary} is missing");
        int port = Posix.FreePort(); // nothing listens there: the destination is down
        string spoolDir = Directory.CreateTempSubdirectory("pgw-down-kill-").FullName;
        var load = new Sender();
        var accepted = load.Accepted;

        await using (var first = GatewayProcess.Start(binary, Args(port, spoolDir)))
        {
            using var client = new ProxyClient(await first.WaitForHttpAsync());
            using var stop = new CancellationTokenSource();
            var workers = Enumerable.Range(0, 3).Select(w => load.RunAsync(client, $"kill.w{w}", TimeSpan.Zero, stop.Token)).ToArray();
            // Killed under load, with requests in flight, once 250,000 lines were answered 200.
            await Assert.That(await Poll.UntilAsync(() => accepted.Count >= 250_000, TimeSpan.FromSeconds(120))).IsTrue();
            first.Signal(GatewayProcess.SIGKILL);
            await first.WaitForExitAsync(TimeSpan.FromSeconds(10));
            stop.Cancel();
            await Task.WhenAll(workers);
        }

        await using var sink = TcpSink.Start(port);
        await using var second = GatewayProcess.Start(binary, Args(port, spoolDir));
        await second.WaitForHttpAsync();
        var answered = accepted.ToHashSet();
        await sink.WaitForAsync(answered.Count, TimeSpan.FromSeconds(60));
        var got = (await sink.SettleAsync(TimeSpan.FromMilliseconds(500))).ToHashSet();
        long lost = answered.Count(l => !got.Contains(l));
        Console.WriteLine($"SIGKILL with the destination down: {answered.Count} lines answered 200, {load.Refused} batches refused, {got.Count} distinct delivered after the restart, {lost} lost");

        await Assert.That(load.Refused).IsEqualTo(0);
        await Assert.That(lost).IsEqualTo(0);
    }

    [Test]
    public async Task Sigkill_after_a_blackholed_destination_was_declared_down_loses_nothing_answered_200()
    {
        // What the destination had not acknowledged when it went dark (the unacknowledged tail, megabytes on a busy
        // connection) was kept in the writer's memory until it came back; now it is spooled once it is declared down.
        string binary = GatewayProcess.NativeBinary;
        await Assert.That(File.Exists(binary)).IsTrue().Because($"run `make publish` first: {binary} is missing");
        await using var sink = TcpSink.Start();
        string spoolDir = Directory.CreateTempSubdirectory("pgw-dark-kill-").FullName;
        string[] args = [.. Args(sink.Port, spoolDir), "-destination-timeout", "2s"];
        var load = new Sender();
        var accepted = load.Accepted;

        await using (var first = GatewayProcess.Start(binary, args))
        {
            using var client = new ProxyClient(await first.WaitForHttpAsync());
            using var stop = new CancellationTokenSource();
            // About 200,000 lines/s at most: the tail is what the kernel holds.
            var worker = load.RunAsync(client, "dark", TimeSpan.FromMilliseconds(20), stop.Token);
            await Assert.That(await sink.WaitForAsync(50_000, TimeSpan.FromSeconds(60))).IsTrue();
            await using (var dark = await Blackhole.StartAsync(sink.Port))
            {
                await Assert.That(await first.WaitForLogAsync("declared down", TimeSpan.FromSeconds(30))).IsTrue();
                int atDown = accepted.Count;
                await Assert.That(await Poll.UntilAsync(() => accepted.Count >= atDown + 20_000, TimeSpan.FromSeconds(60))).IsTrue();
                first.Signal(GatewayProcess.SIGKILL);
                await first.WaitForExitAsync(TimeSpan.FromSeconds(10));
                stop.Cancel();
                await worker;
            }
        }

        await using var second = GatewayProcess.Start(binary, args);
        await second.WaitForHttpAsync();
        var answered = accepted.ToHashSet();
        await Poll.UntilAsync(() => sink.Lines.Count >= answered.Count, TimeSpan.FromSeconds(60));
        var got = (await sink.SettleAsync(TimeSpan.FromMilliseconds(500))).ToHashSet();
        long lost = answered.Count(l => !got.Contains(l));
        Console.WriteLine($"SIGKILL after a blackhole was declared down: {answered.Count} lines answered 200, {load.Refused} batches refused, {got.Count} distinct arrived, {lost} lost");

        await Assert.That(load.Refused).IsEqualTo(0);
        await Assert.That(lost).IsEqualTo(0);
    }

    // Posts 5000-line batches until stopped or the gateway is gone, keeping every line answered 200.
    private sealed class Sender
    {
        private long _refused;

        public ConcurrentBag<string> Accepted { get; } = [];

        public long Refused => Interlocked.Read(ref _refused);

        public Task RunAsync(ProxyClient client, string prefix, TimeSpan pause, CancellationToken stop) => Task.Run(async () =>
        {
            for (int n = 0; !stop.IsCancellationRequested; n++)
            {
                string lines = ProxyClient.Lines($"{prefix}.b{n}", 5000);
                try
                {
                    var reply = await client.IngestAsync("123", lines);
                    if (reply.Status == 200)
                    {
                        foreach (var line in lines.TrimEnd('\n').Split('\n'))
                            Accepted.Add(line);
                    }
                    else
                    {
                        Interlocked.Increment(ref _refused);
                    }
                    if (pause > TimeSpan.Zero)
                        await Task.Delay(pause);
                }
                catch (Exception)
                {
                    return; // the process is gone: this batch was never answered
                }
            }
        });
    }
}
