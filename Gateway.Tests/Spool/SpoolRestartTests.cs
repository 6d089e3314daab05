using System.Text.RegularExpressions;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Spool;

/// <summary>The spool across restarts of the real process: SIGTERM during an outage, and SIGKILL.</summary>
[Category("faults")]
public class SpoolRestartTests
{
    private static string[] Args(int port, string spoolDir) =>
        ["-dev-mode", "-listen-addr", "127.0.0.1", "-listen-http-port", "0", "-destinations", $"127.0.0.1:{port}",
         "-drain-timeout", "1s", "-outgoing-queue-cap", "2000", "-spool-dir", spoolDir, "-spool-fsync", "0", "-summary-interval", "0"];

    private static async Task<HashSet<string>> SendAsync(string address, string prefix, int batches)
    {
        using var client = new ProxyClient(address);
        var accepted = new HashSet<string>();
        for (int i = 0; i < batches; i++)
        {
            string lines = ProxyClient.Lines($"{prefix}.b{i}", 1000);
            if ((await client.IngestAsync("123", lines)).Status == 200)
                accepted.UnionWith(lines.TrimEnd('\n').Split('\n'));
        }
        return accepted;
    }

    [Test]
    public async Task Sigterm_during_an_outage_then_a_restart_on_the_same_spool_loses_nothing()
    {
        int port = Posix.FreePort();
        string spoolDir = Directory.CreateTempSubdirectory("pgw-restart-").FullName;

        HashSet<string> accepted;
        await using (var first = GatewayProcess.Start(GatewayProcess.JitBinary, Args(port, spoolDir)))
        {
            accepted = await SendAsync(await first.WaitForHttpAsync(), "term", 20);
            first.Signal(GatewayProcess.SIGTERM);
            await Assert.That(await first.WaitForExitAsync(TimeSpan.FromSeconds(20))).IsEqualTo(0);
            // What was in the queue at the drain timeout went to the spool, not to the drop counter.
            await Assert.That(first.Stderr).Contains("0 dropped in all");
        }

        await using var second = GatewayProcess.Start(GatewayProcess.JitBinary, Args(port, spoolDir));
        await second.WaitForHttpAsync();
        await Assert.That(await second.WaitForLogAsync("points in", TimeSpan.FromSeconds(10))).IsTrue();
        await using var sink = TcpSink.Start(port);
        await sink.WaitForAsync(accepted.Count, TimeSpan.FromSeconds(30));
        var got = await sink.SettleAsync();

        await Assert.That(accepted.Count).IsEqualTo(20_000);
        await Assert.That(accepted.IsSubsetOf(got)).IsTrue();
        await Assert.That(got.Count).IsEqualTo(accepted.Count);
        await Assert.That(Directory.GetFiles(spoolDir, "*.spool", SearchOption.AllDirectories)).IsEmpty();
    }

    [Test]
    public async Task After_sigkill_only_the_memory_queue_can_be_lost_and_the_spool_replays()
    {
        int port = Posix.FreePort();
        string spoolDir = Directory.CreateTempSubdirectory("pgw-kill-").FullName;

        HashSet<string> accepted;
        await using (var first = GatewayProcess.Start(GatewayProcess.JitBinary, Args(port, spoolDir)))
        {
            accepted = await SendAsync(await first.WaitForHttpAsync(), "kill", 20);
            first.Signal(GatewayProcess.SIGKILL);
            await first.WaitForExitAsync(TimeSpan.FromSeconds(10));
        }

        await using var second = GatewayProcess.Start(GatewayProcess.JitBinary, Args(port, spoolDir));
        await second.WaitForHttpAsync();
        await using var sink = TcpSink.Start(port);
        await sink.WaitForAsync(accepted.Count - 3000, TimeSpan.FromSeconds(30));
        var got = (await sink.SettleAsync()).ToHashSet();
        long lost = accepted.Count(l => !got.Contains(l));
        Console.WriteLine($"SIGKILL during an outage: {accepted.Count} accepted, {got.Count} delivered after the restart, {lost} lost (bound: -outgoing-queue-cap 2000 plus one 1000-line batch)");

        await Assert.That(lost).IsLessThanOrEqualTo(3000);
        await Assert.That(got.IsSubsetOf(accepted)).IsTrue();
    }
}
