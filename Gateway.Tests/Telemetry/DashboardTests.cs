using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Telemetry;

/// <summary>
/// packaging/grafana/polymur-gateway.json against a real Prometheus scraping a gateway under load: every panel's
/// expression must parse and return data.
/// </summary>
public class DashboardTests
{
    private static string DashboardPath => Path.Combine(GatewayProcess.RepoRoot, "packaging", "grafana", "polymur-gateway.json");

    [Test]
    public async Task Every_panel_parses_and_returns_data_from_a_gateway_under_load()
    {
        var panels = JsonDocument.Parse(await File.ReadAllTextAsync(DashboardPath)).RootElement.GetProperty("panels").EnumerateArray()
            .Where(p => p.GetProperty("type").GetString() != "row")
            .Select(p => (Title: p.GetProperty("title").GetString()!, Expressions: p.GetProperty("targets").EnumerateArray().Select(t => t.GetProperty("expr").GetString()!).ToArray()))
            .ToArray();
        await Assert.That(panels.Length).IsGreaterThanOrEqualTo(15);

        // A gateway with everything the panels show: a destination up and one down with a spool, the plaintext
        // listener with a sender on it, and HTTP load.
        await using var sink = TcpSink.Start();
        string spool = Directory.CreateTempSubdirectory("pgw-dash-spool-").FullName;
        await using var gw = await TestGateway.StartAsync([], o => o with
        {
            Destinations = [new("127.0.0.1", sink.Port, "a"), new("127.0.0.1", Posix.FreePort(), "b")],
            SpoolDir = spool,
            TcpPort = 0,
            TcpTenant = "edge",
        });
        await using var load = new SteadyLoad(gw.HttpAddress, workers: 2, linesPerBatch: 500);
        using var plain = new TcpClient();
        await plain.ConnectAsync(gw.App.PlaintextEndpoint!);
        await plain.GetStream().WriteAsync(Encoding.ASCII.GetBytes("edge.a 1 1700000000\nnot a line\n"));
        using var client = gw.Client();
        await client.IngestAsync("wrong-key", "refused.a 1 1700000000\n");
        await using var prometheus = await PrometheusServer.StartAsync(new Uri(gw.App.StatsAddress).Authority);

        foreach (var (title, expressions) in panels)
        {
            foreach (var expression in expressions)
            {
                string query = expression.Replace("$__rate_interval", "10s").Replace("$instance", ".*");
                (string Status, string? Error, int Series) result = ("", null, 0);
                bool answered = await Poll.UntilAsync(async () => (result = await prometheus.QueryAsync(query)).Series > 0 || result.Status != "success", TimeSpan.FromSeconds(30));
                Console.WriteLine($"{title}: {result.Series} series <- {query}");
                await Assert.That(result.Status).IsEqualTo("success").Because($"{title}: {result.Error}");
                await Assert.That(answered && result.Series > 0).IsTrue().Because($"{title}: no data for {query}");
            }
        }
    }

    [Test]
    public async Task The_committed_dashboard_is_what_its_script_writes()
    {
        string committed = await File.ReadAllTextAsync(DashboardPath);
        var (code, _, stderr) = await GatewayProcess.RunAsync("python3", [Path.Combine(GatewayProcess.RepoRoot, "packaging", "grafana", "make_dashboard.py")]);

        await Assert.That(code).IsEqualTo(0).Because(stderr);
        await Assert.That(await File.ReadAllTextAsync(DashboardPath)).IsEqualTo(committed);
    }
}
