using System.Diagnostics;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Top;

/// <summary>
/// polymur-gateway top in a real terminal: the published binary runs in a tmux pane of 80x24 (and a wide one)
/// against a gateway under load; the test reads the pane as a person would see it and quits with q.
/// </summary>
public class TopTests
{
    private static async Task<string> TmuxAsync(params string[] args)
    {
        var info = new ProcessStartInfo("tmux") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        string output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode == 0 ? output : "";
    }

    private static async Task<TestGateway> StartLoadedAsync(TcpSink sink, int downPort) =>
        await TestGateway.StartAsync([], o => o with
        {
            Destinations = [new("127.0.0.1", sink.Port, "a"), new("127.0.0.1", downPort, "b")],
        });

    [Test]
    [Arguments(80, 24)]
    [Arguments(140, 40)]
    public async Task It_shows_a_gateway_under_load_and_quits_on_q(int width, int height)
    {
        await Assert.That(File.Exists(GatewayProcess.NativeBinary)).IsTrue().Because("make publish first");
        await using var sink = TcpSink.Start();
        int downPort = Posix.FreePort();
        await using var gw = await StartLoadedAsync(sink, downPort);
        await using var load = new SteadyLoad(gw.HttpAddress, workers: 2, linesPerBatch: 500);
        string session = $"pgw-top-{Environment.ProcessId}-{width}";
        string statAddr = new Uri(gw.App.StatsAddress).Authority;
        await TmuxAsync("new-session", "-d", "-s", session, "-x", width.ToString(), "-y", height.ToString(),
            $"{GatewayProcess.NativeBinary} top -stat-addr {statAddr}; sleep 30");
        try
        {
            string screen = "";
            bool shown = await Poll.UntilAsync(async () =>
            {
                screen = await TmuxAsync("capture-pane", "-p", "-t", session);
                return screen.Contains("DESTINATION") && screen.Contains(" points/s") && !screen.Contains("ingest         0 points/s");
            }, TimeSpan.FromSeconds(30));
            Console.WriteLine($"top at {width}x{height}:\n{screen}");
            await Assert.That(shown).IsTrue().Because(screen);

            var lines = screen.TrimEnd('\n').Split('\n');
            await Assert.That(lines.Length).IsLessThanOrEqualTo(height);
            await Assert.That(lines.Max(l => l.Length)).IsLessThanOrEqualTo(width);
            await Assert.That(lines[0]).StartsWith($"polymur-gateway {statAddr}");
            await Assert.That(lines.Any(l => l.StartsWith($"127.0.0.1:{sink.Port}:a") && l.Contains(" up "))).IsTrue();
            await Assert.That(lines.Any(l => l.StartsWith($"127.0.0.1:{downPort}:b") && l.Contains(" DOWN "))).IsTrue();
            await Assert.That(lines.Any(l => l.StartsWith("dev ") )).IsTrue().Because("the load's tenant");
            await Assert.That(lines.Any(l => l.StartsWith("refused ") && l.Contains("401 0/s"))).IsTrue();
            await Assert.That(lines.Any(l => l.StartsWith("memory ") && l.Contains("rss "))).IsTrue();
            if (width >= 110)
                await Assert.That(lines.Any(l => l.Contains("TLS FAIL"))).IsTrue();

            await TmuxAsync("send-keys", "-t", session, "q");
            // top leaves the alternate screen and the pane's shell moves on to its sleep: the view is gone.
            bool quit = await Poll.UntilAsync(async () => !(await TmuxAsync("capture-pane", "-p", "-t", session)).Contains("DESTINATION"), TimeSpan.FromSeconds(30));
            await Assert.That(quit).IsTrue();
        }
        finally
        {
            await TmuxAsync("kill-session", "-t", session);
        }
    }

    [Test]
    public async Task Once_prints_a_plain_snapshot_without_terminal_codes()
    {
        await using var sink = TcpSink.Start();
        await using var gw = await StartLoadedAsync(sink, Posix.FreePort());
        await using var load = new SteadyLoad(gw.HttpAddress, workers: 1, linesPerBatch: 200);

        var (code, stdout, stderr) = await GatewayProcess.RunAsync(GatewayProcess.NativeBinary, ["top", "--once", "-stat-addr", new Uri(gw.App.StatsAddress).Authority]);

        await Assert.That(code).IsEqualTo(0).Because(stderr);
        await Assert.That(stdout).DoesNotContain("\u001b");
        await Assert.That(stdout).Contains("points/s");
        await Assert.That(stdout).Contains($"127.0.0.1:{sink.Port}:a");
    }

    [Test]
    public async Task With_a_stats_token_it_sends_the_token_file_and_without_one_says_so()
    {
        const string token = "0123456789abcdef0123456789abcdef";
        string tokenFile = Path.Combine(Directory.CreateTempSubdirectory("pgw-top-token-").FullName, "token");
        await File.WriteAllTextAsync(tokenFile, token + "\n");
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink, o => o with { ApiToken = Polymur.Gateway.Configuration.SecretToken.FromText(token), ApiTokenStats = true });
        string statAddr = new Uri(gw.App.StatsAddress).Authority;

        // No --once: a stdout that is not a terminal gets the plain snapshot all the same.
        var with = await GatewayProcess.RunAsync(GatewayProcess.NativeBinary, ["top", "-stat-addr", statAddr, "-api-token-file", tokenFile]);
        var without = await GatewayProcess.RunAsync(GatewayProcess.NativeBinary, ["top", "-stat-addr", statAddr]);

        await Assert.That(with.Code).IsEqualTo(0).Because(with.Stderr);
        await Assert.That(with.Stdout).Contains($"127.0.0.1:{sink.Port}");
        await Assert.That(with.Stdout).DoesNotContain("\u001b");
        await Assert.That(without.Code).IsEqualTo(1);
        await Assert.That(without.Stderr).Contains("401");
        await Assert.That(without.Stderr).Contains("-api-token-file");
        await Assert.That(with.Stdout + with.Stderr + without.Stderr).DoesNotContain(token);
    }

    [Test]
    public async Task A_gateway_that_does_not_answer_is_an_error_not_a_crash()
    {
        var (code, _, stderr) = await GatewayProcess.RunAsync(GatewayProcess.NativeBinary, ["top", "--once", "-stat-addr", $"127.0.0.1:{Posix.FreePort()}"]);

        await Assert.That(code).IsEqualTo(1);
        await Assert.That(stderr).StartsWith("polymur-gateway top: http://127.0.0.1:");
        await Assert.That(stderr).DoesNotContain("   at ");
    }
}
