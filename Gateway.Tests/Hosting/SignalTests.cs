using System.Text.RegularExpressions;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Hosting;

/// <summary>
/// Signals against the native binary (`make publish`): SIGHUP reloads what there is to reload and ends nothing,
/// with or without -cert (it ended a gateway without -cert with exit 129, no drain); SIGUSR1 and SIGUSR2 (which end
/// a .NET process by default) and SIGPIPE are ignored. Each storm comes under load; every batch answered 200 must
/// reach the sink, and the gateway still drains on SIGTERM afterwards.
/// </summary>
public partial class SignalTests
{
    private const int SIGUSR1 = 10, SIGUSR2 = 12, SIGPIPE = 13;

    private static string[] Args(TcpSink sink, TestCertificate? cert) =>
    [
        "-dev-mode", "-listen-addr", "127.0.0.1", "-listen-http-port", "0", "-api-addr", "127.0.0.1:0", "-stat-addr", "127.0.0.1:0",
        "-destinations", sink.Address, "-summary-interval", "0",
        .. cert is null ? Array.Empty<string>() : ["-listen-https-port", "0", "-cert", cert.CertPath, "-key", cert.KeyPath],
    ];

    /// <summary>
    /// Sends <paramref name="count"/> of <paramref name="signal"/> while a sender posts 100-line batches, then
    /// 10 more batches after the storm; returns the statuses. Signals are paced only so the storm overlaps the load.
    /// </summary>
    private static async Task<List<int>> StormUnderLoadAsync(GatewayProcess gw, string http, int signal, int count, string prefix)
    {
        using var client = new ProxyClient(http);
        var statuses = new List<int>();
        int batch = 0;
        async Task SendOneAsync()
        {
            int n = batch++;
            try
            {
                statuses.Add((await client.IngestAsync("123", ProxyClient.Lines($"{prefix}.b{n}", 100))).Status);
            }
            catch (HttpRequestException)
            {
                statuses.Add(0);
            }
        }
        var storm = Task.Run(async () =>
        {
            for (int i = 0; i < count && !gw.Exited; i++)
            {
                gw.Signal(signal);
                if (i % 2 == 1)
                    await Task.Delay(1);
            }
        });
        while (!storm.IsCompleted)
            await SendOneAsync();
        await storm;
        for (int i = 0; i < 10; i++)
            await SendOneAsync();
        return statuses;
    }

    private static async Task AssertServedAsync(GatewayProcess gw, TcpSink sink, List<int> statuses)
    {
        await Assert.That(gw.Exited).IsFalse().Because(gw.Stderr);
        await Assert.That(statuses.All(s => s == 200)).IsTrue().Because(string.Join(',', statuses.Distinct()));
        await Assert.That(await sink.WaitForAsync(statuses.Count * 100, TimeSpan.FromSeconds(30))).IsTrue();
    }

    private static async Task AssertDrainsAsync(GatewayProcess gw)
    {
        gw.Signal(Posix.SIGTERM);
        await Assert.That(await gw.WaitForExitAsync(TimeSpan.FromSeconds(30))).IsEqualTo(0);
        await Assert.That(gw.Stderr).Contains("Stopped: ");
    }

    private static int Count(string log, string text) => Regex.Matches(log, Regex.Escape(text)).Count;

    [Test]
    public async Task A_storm_of_1000_sighups_without_cert_ends_nothing_and_loses_nothing()
    {
        await using var sink = TcpSink.Start();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await using var gw = GatewayProcess.Start(GatewayProcess.NativeBinary, Args(sink, null));
        string http = await gw.WaitForHttpAsync();

        var statuses = await StormUnderLoadAsync(gw, http, Posix.SIGHUP, 1000, "hup");
        await AssertServedAsync(gw, sink, statuses);

        await Assert.That(await gw.WaitForLogAsync("SIGHUP: reloading nothing (no -cert)", TimeSpan.FromSeconds(20))).IsTrue();
        // Rate-limited: one line per 10 s however many came, the rest folded into the next line's count.
        await Assert.That(Count(gw.Stderr, "SIGHUP: reloading")).IsLessThanOrEqualTo(1 + (int)(clock.Elapsed.TotalSeconds / 10));
        await AssertDrainsAsync(gw);
    }

    [Test]
    public async Task A_storm_of_1000_sighups_with_cert_reloads_once_per_change_and_loses_nothing()
    {
        using var cert = new TestCertificate();
        await using var sink = TcpSink.Start();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await using var gw = GatewayProcess.Start(GatewayProcess.NativeBinary, Args(sink, cert));
        string http = await gw.WaitForHttpAsync();
        await gw.WaitForUrlAsync("https://");

        var statuses = await StormUnderLoadAsync(gw, http, Posix.SIGHUP, 1000, "hupc");
        await AssertServedAsync(gw, sink, statuses);

        await Assert.That(await gw.WaitForLogAsync("SIGHUP: reloading the TLS certificate", TimeSpan.FromSeconds(20))).IsTrue();
        await Assert.That(Count(gw.Stderr, "SIGHUP: reloading")).IsLessThanOrEqualTo(1 + (int)(clock.Elapsed.TotalSeconds / 10));
        // The files did not change: nothing reloaded, nothing refused, nothing logged per signal.
        await Assert.That(gw.Stderr).DoesNotContain("TLS certificate reloaded");
        await Assert.That(gw.Stderr).DoesNotContain("not reloaded");
        await AssertDrainsAsync(gw);
    }

    [Test]
    [Arguments(SIGUSR1, "SIGUSR1")]
    [Arguments(SIGUSR2, "SIGUSR2")]
    [Arguments(SIGPIPE, "SIGPIPE")]
    public async Task A_storm_of_other_signals_is_ignored(int signal, string name)
    {
        await using var sink = TcpSink.Start();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await using var gw = GatewayProcess.Start(GatewayProcess.NativeBinary, Args(sink, null));
        string http = await gw.WaitForHttpAsync();

        var statuses = await StormUnderLoadAsync(gw, http, signal, 300, name.ToLowerInvariant());
        await AssertServedAsync(gw, sink, statuses);

        // SIGPIPE is ignored by the runtime itself (SIG_IGN), so it is not even seen; the other two are logged.
        if (signal != SIGPIPE)
            await Assert.That(await gw.WaitForLogAsync($"{name} ignored", TimeSpan.FromSeconds(20))).IsTrue();
        await Assert.That(Count(gw.Stderr, " ignored: ")).IsLessThanOrEqualTo(1 + (int)(clock.Elapsed.TotalSeconds / 10));
        await AssertDrainsAsync(gw);
    }

    [Test]
    public async Task The_shipped_units_exec_reload_is_harmless()
    {
        string unit = File.ReadAllText(Path.Combine(GatewayProcess.RepoRoot, "packaging", "deb", "polymur-gateway.service"));
        string reload = ExecReload().Match(unit).Groups[1].Value.Trim();
        await Assert.That(reload).Contains("$MAINPID");
        await using var sink = TcpSink.Start();
        await using var gw = GatewayProcess.Start(GatewayProcess.NativeBinary, Args(sink, null));
        string http = await gw.WaitForHttpAsync();

        // What `systemctl reload` runs, as systemd runs it (a command line, $MAINPID the gateway's pid).
        using var shell = System.Diagnostics.Process.Start("/bin/sh", ["-c", reload.Replace("$MAINPID", gw.Id.ToString())])!;
        await shell.WaitForExitAsync();
        await Assert.That(shell.ExitCode).IsEqualTo(0);
        await Assert.That(await Poll.UntilAsync(() => gw.Stderr.Contains("SIGHUP: reloading") || gw.Exited, TimeSpan.FromSeconds(20))).IsTrue();

        using var client = new ProxyClient(http);
        var statuses = new List<int>();
        try
        {
            statuses.Add((await client.IngestAsync("123", ProxyClient.Lines("reload", 100))).Status);
        }
        catch (HttpRequestException)
        {
            statuses.Add(0);
        }
        await AssertServedAsync(gw, sink, statuses);
        await AssertDrainsAsync(gw);
    }

    [GeneratedRegex(@"^ExecReload=(.+)$", RegexOptions.Multiline)]
    private static partial Regex ExecReload();
}
