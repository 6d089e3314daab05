using System.Diagnostics;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Spool;

/// <summary>
/// The spool under the published binary, as an operator meets it: a second gateway on the same -spool-dir (F3),
/// and a gateway running as nobody whose spool files change permissions under it (F1, F6): root would read them
/// anyway, so these run the gateway through setpriv. Each must keep delivering what it answered 200 for, and
/// stop cleanly on SIGTERM. Needs `make publish`.
/// </summary>
[NotInParallel("spool-process")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class SpoolProcessTests
{
    private const int Nobody = 65534;

    private static void Run(string program, params string[] args)
    {
        using var process = Process.Start(program, args);
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} exited {process.ExitCode}");
    }

    // A spool dir nobody can use: its parent must be searchable by nobody (temp dirs are 0700).
    private static string NobodySpoolDir()
    {
        string parent = Directory.CreateTempSubdirectory("pgw-nobody-").FullName;
        File.SetUnixFileMode(parent, (UnixFileMode)0x1ed); // 0755
        string spool = Path.Combine(parent, "spool");
        Directory.CreateDirectory(spool);
        Run("chown", "-R", $"{Nobody}:{Nobody}", spool);
        return spool;
    }

    private static string[] Args(string destination, string spoolDir) =>
        ["-dev-mode", "-listen-addr", "127.0.0.1", "-listen-http-port", "0", "-destinations", destination, "-spool-dir", spoolDir, "-summary-interval", "0"];

    private static GatewayProcess StartAsNobody(string destination, string spoolDir) =>
        GatewayProcess.Start("/usr/bin/setpriv", [$"--reuid={Nobody}", $"--regid={Nobody}", "--clear-groups", GatewayProcess.NativeBinary, .. Args(destination, spoolDir)]);

    // While the destination is down: every batch is answered 200 and spooled.
    private static async Task SpoolAsync(string address, string prefix, int batches)
    {
        using var client = new ProxyClient(address);
        for (int i = 0; i < batches; i++)
            await Assert.That((await client.IngestAsync("123", ProxyClient.Lines($"{prefix}.b{i}", 1000))).Status).IsEqualTo(200);
    }

    private static async Task<int> StopAsync(GatewayProcess gw)
    {
        gw.Signal(GatewayProcess.SIGTERM);
        return await gw.WaitForExitAsync(TimeSpan.FromSeconds(30));
    }

    [Test]
    public async Task A_second_gateway_on_the_same_spool_dir_exits_2_naming_the_dir_and_the_holders_pid()
    {
        string spoolDir = Directory.CreateTempSubdirectory("pgw-twogw-").FullName;
        int port = Posix.FreePort();
        await using var first = GatewayProcess.Start(GatewayProcess.NativeBinary, Args($"127.0.0.1:{port}", spoolDir));
        string address = await first.WaitForHttpAsync();
        await SpoolAsync(address, "first", 3);

        await using var second = GatewayProcess.Start(GatewayProcess.NativeBinary, Args($"127.0.0.1:{port}", spoolDir));
        int code = await second.WaitForExitAsync(TimeSpan.FromSeconds(30));
        var lines = second.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);

        await Assert.That(code).IsEqualTo(2);
        await Assert.That(lines).HasSingleItem();
        await Assert.That(lines[0]).Contains(spoolDir);
        await Assert.That(lines[0]).Contains($"pid {first.Id}");
        // The first one was not disturbed: its spool is whole, and it replays all once the destination is back.
        await using var sink = TcpSink.Start(port);
        await Assert.That(await sink.WaitForAsync(3000, TimeSpan.FromSeconds(60))).IsTrue();
        await Assert.That(await StopAsync(first)).IsEqualTo(0);
        await Assert.That((await sink.SettleAsync()).Distinct().Count()).IsEqualTo(3000);
    }

    [Test]
    public async Task A_segment_made_unreadable_while_in_use_is_still_replayed_and_later_lines_flow()
    {
        // F1 (chmod 000 at runtime): 0 of 750,000 lines reached the sink, and SIGTERM aborted.
        string spoolDir = NobodySpoolDir();
        int port = Posix.FreePort();
        await using var gw = StartAsNobody($"127.0.0.1:{port}", spoolDir);
        string address = await gw.WaitForHttpAsync();
        await SpoolAsync(address, "spooled", 10);
        foreach (string segment in Directory.GetFiles(spoolDir, "*.spool", SearchOption.AllDirectories))
            File.SetUnixFileMode(segment, UnixFileMode.None);

        await using var sink = TcpSink.Start(port);
        await SpoolAsync(address, "live", 10);

        await Assert.That(await sink.WaitForAsync(20_000, TimeSpan.FromSeconds(60))).IsTrue();
        await Assert.That(await StopAsync(gw)).IsEqualTo(0);
        await Assert.That((await sink.SettleAsync()).Distinct().Count()).IsEqualTo(20_000);
    }

    [Test]
    public async Task A_segment_unreadable_at_start_is_skipped_and_reported_and_replays_once_readable()
    {
        // F6 (chmod 000 before a start): the start aborted with rc 134, a crash loop under systemd.
        string spoolDir = NobodySpoolDir();
        int port = Posix.FreePort();
        await using (var down = StartAsNobody($"127.0.0.1:{port}", spoolDir))
        {
            await SpoolAsync(await down.WaitForHttpAsync(), "spooled", 5);
            await Assert.That(await StopAsync(down)).IsEqualTo(0);
        }
        string segment = Directory.GetFiles(spoolDir, "*.spool", SearchOption.AllDirectories).Single();
        File.SetUnixFileMode(segment, UnixFileMode.None);
        await using var sink = TcpSink.Start(port);

        await using (var blocked = StartAsNobody($"127.0.0.1:{port}", spoolDir))
        {
            string address = await blocked.WaitForHttpAsync();
            await SpoolAsync(address, "live", 3);
            await Assert.That(await sink.WaitForAsync(3000, TimeSpan.FromSeconds(60))).IsTrue();
            await Assert.That(blocked.Stderr).Contains($"{segment} is skipped (Permission denied)");
            await Assert.That(await StopAsync(blocked)).IsEqualTo(0);
        }
        await Assert.That(File.Exists(segment)).IsTrue(); // never deleted unread
        File.SetUnixFileMode(segment, (UnixFileMode)0x1a4);

        await using var fixedUp = StartAsNobody($"127.0.0.1:{port}", spoolDir);
        await fixedUp.WaitForHttpAsync();
        await Assert.That(await sink.WaitForAsync(8000, TimeSpan.FromSeconds(60))).IsTrue();
        await Assert.That(await StopAsync(fixedUp)).IsEqualTo(0);
        await Assert.That((await sink.SettleAsync()).Distinct().Count()).IsEqualTo(8000);
    }

    [Test]
    public async Task A_delivered_segment_that_cannot_be_deleted_is_kept_reported_and_delivery_goes_on()
    {
        // F1 (undeletable): the destination's spool directory is root's, so nobody can read but not delete.
        // 0 of 500,000 lines answered 200 reached the sink.
        string spoolDir = NobodySpoolDir();
        int port = Posix.FreePort();
        await using (var down = StartAsNobody($"127.0.0.1:{port}", spoolDir))
        {
            await SpoolAsync(await down.WaitForHttpAsync(), "spooled", 5);
            await Assert.That(await StopAsync(down)).IsEqualTo(0);
        }
        string directory = Directory.GetDirectories(spoolDir).Single();
        Run("chown", "root:root", directory);
        File.SetUnixFileMode(directory, (UnixFileMode)0x1ed);
        await using var sink = TcpSink.Start(port);

        await using var gw = StartAsNobody($"127.0.0.1:{port}", spoolDir);
        string address = await gw.WaitForHttpAsync();
        await Assert.That(await sink.WaitForAsync(5000, TimeSpan.FromSeconds(60))).IsTrue();
        await SpoolAsync(address, "live", 5);

        await Assert.That(await sink.WaitForAsync(10_000, TimeSpan.FromSeconds(60))).IsTrue();
        await Assert.That(await gw.WaitForLogAsync("was delivered but cannot be deleted", TimeSpan.FromSeconds(30))).IsTrue();
        await Assert.That(await StopAsync(gw)).IsEqualTo(0);
        await Assert.That((await sink.SettleAsync()).Distinct().Count()).IsEqualTo(10_000);
        await Assert.That(Directory.GetFiles(directory, "*.spool")).HasSingleItem();
    }

    [Test]
    [Arguments(GatewayProcess.SIGKILL)]
    [Arguments(GatewayProcess.SIGTERM)]
    public async Task Stopped_mid_replay_a_restart_sends_again_at_most_the_records_in_flight(int signal)
    {
        // F18: SIGTERM during a replay gave 250,000 duplicates of 1.6 M lines: acknowledgements lived in memory,
        // so every segment not fully delivered replayed from its start.
        string spoolDir = Directory.CreateTempSubdirectory("pgw-midreplay-").FullName;
        int port = Posix.FreePort();
        string[] slow = [.. Args($"127.0.0.1:{port}", spoolDir), "-spool-replay-rate", "2000"];
        await using (var down = GatewayProcess.Start(GatewayProcess.NativeBinary, slow))
        {
            await SpoolAsync(await down.WaitForHttpAsync(), "backlog", 20);
            await Assert.That(await StopAsync(down)).IsEqualTo(0);
        }
        await using var sink = TcpSink.Start(port);
        await using (var replaying = GatewayProcess.Start(GatewayProcess.NativeBinary, slow))
        {
            await replaying.WaitForHttpAsync();
            await Assert.That(await sink.WaitForAsync(8000, TimeSpan.FromSeconds(60))).IsTrue();
            replaying.Signal(signal);
            await replaying.WaitForExitAsync(TimeSpan.FromSeconds(30));
        }
        int beforeRestart = sink.Count;
        await using var restarted = GatewayProcess.Start(GatewayProcess.NativeBinary, slow);
        await restarted.WaitForHttpAsync();
        await Assert.That(await Poll.UntilAsync(() => sink.Lines.Distinct().Count() == 20_000, TimeSpan.FromSeconds(90))).IsTrue();
        await Assert.That(await StopAsync(restarted)).IsEqualTo(0);
        var lines = await sink.SettleAsync();
        int duplicates = lines.Count - lines.Distinct().Count();
        Console.WriteLine($"signal {signal} after {beforeRestart} lines: {lines.Count} delivered, {duplicates} twice");

        // At 2000 points/s a 1000-line record is replayed at a time: what may be in flight is a few of them.
        await Assert.That(duplicates).IsLessThanOrEqualTo(3000);
    }
}
