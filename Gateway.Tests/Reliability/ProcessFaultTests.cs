using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Reliability;

/// <summary>Faults that take a whole process: SIGKILL under load, and stderr (the logs) on a full disk.</summary>
[Category("faults")]
public class ProcessFaultTests
{
    [Test]
    public async Task Sigkill_loses_at_most_what_the_queues_held_in_memory()
    {
        await using var sink = TcpSink.Start();
        await using var gw = GatewayProcess.Start(GatewayProcess.JitBinary,
            ["-dev-mode", "-listen-addr", "127.0.0.1", "-listen-http-port", "0", "-destinations", sink.Address]);
        var load = new SteadyLoad(await gw.WaitForHttpAsync(), workers: 3);

        // Killed under load: once batches are answered and lines flow, however long a slow machine takes.
        await Assert.That(await Poll.UntilAsync(() => load.AcceptedLines >= 20_000 && sink.Count > 0, TimeSpan.FromSeconds(30))).IsTrue();
        gw.Signal(GatewayProcess.SIGKILL);
        await load.DisposeAsync();
        // The kernel closes a killed process's sockets behind what it had sent: at EOF the sink has it all.
        await Assert.That(await sink.WaitForAllClosedAsync(TimeSpan.FromSeconds(30))).IsTrue();
        var got = sink.Lines;

        long lost = load.AcceptedLines - got.Count;
        Console.WriteLine($"SIGKILL: {load.AcceptedLines} lines acknowledged (200), {got.Count} delivered, {lost} lost");
        // No line arrives twice. A batch can be delivered without its 200 reaching the client (the process died
        // in between), so delivery may pass the acknowledged lines by the batches in flight (3 clients x 1000).
        // What can be lost is at most one queue's worth: -outgoing-queue-cap 4096, passed by one 1000-line batch.
        await Assert.That(got.Distinct().Count()).IsEqualTo(got.Count);
        await Assert.That(lost).IsGreaterThanOrEqualTo(-3 * 1000);
        await Assert.That(lost).IsLessThanOrEqualTo(4096 + 1000);
    }

    [Test]
    public async Task Logs_on_a_full_disk_do_not_stop_the_gateway()
    {
        await using var sink = TcpSink.Start();
        int port = Posix.FreePort();
        // stderr (every log line) goes to /dev/full: each write fails with ENOSPC.
        var info = new ProcessStartInfo("/bin/sh", ["-c", "exec \"$0\" \"$@\" 2>/dev/full", GatewayProcess.JitBinary,
            "-dev-mode", "-listen-addr", "127.0.0.1", "-listen-http-port", port.ToString(), "-destinations", sink.Address,
            "-api-addr", "127.0.0.1:0", "-stat-addr", "127.0.0.1:0", "-summary-interval", "100ms"]);
        using var process = Process.Start(info)!;
        using var client = new ProxyClient($"http://127.0.0.1:{port}");
        await WaitForPingAsync(client);

        var statuses = new List<int>();
        for (int i = 0; i < 20; i++)
            statuses.Add((await client.IngestAsync("123", ProxyClient.Lines($"full.{i}", 500))).Status);
        await client.PingAsync("wrong-key-logs-a-warning");
        await Task.Delay(500); // pacing: summary lines and warnings keep failing to write meanwhile
        var stillServing = await client.PingAsync("123");
        Posix.Signal(process.Id, Posix.SIGTERM);
        await process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(20)).Token);

        await Assert.That(statuses.All(s => s == 200)).IsTrue();
        await Assert.That(stillServing.Status).IsEqualTo(200);
        // It has exited: once the sink has read to the end of its connections, it has everything there is.
        await Assert.That(await sink.WaitForEndAsync(10_000, TimeSpan.FromSeconds(30))).IsNotNull();
        await Assert.That(sink.Count).IsEqualTo(10_000);
        await Assert.That(process.ExitCode).IsEqualTo(0);
    }

    private static async Task WaitForPingAsync(ProxyClient client)
    {
        bool answered = await Poll.UntilAsync(async () =>
        {
            try
            {
                return (await client.PingAsync("123")).Status == 200;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(30));
        if (!answered)
            throw new TimeoutException("gateway did not answer /ping within 30 s");
    }
}
