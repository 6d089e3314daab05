using System.Net.Sockets;
using System.Text;
using Polymur.Gateway.Configuration;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Parsing;

/// <summary>
/// The line grammar checked against a real carbon-cache: a line carbon would choke on, or store under another
/// name, is refused and counted by the gateway, and the good lines around it all reach whisper.
/// </summary>
[NotInParallel("carbon-cache")]
public class CarbonGrammarTests
{
    private static long Now => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    private static Task<TestGateway> StartGatewayAsync(CarbonCache carbon) =>
        TestGateway.StartAsync([], o => o with { Destinations = [new DestinationAddress("127.0.0.1", carbon.LinePort, null)] });

    [Test]
    [Timeout(120_000)]
    public async Task Poison_lines_from_one_client_cost_no_good_line_of_another(CancellationToken _)
    {
        await using var carbon = await CarbonCache.StartAsync();
        await using var gw = await StartGatewayAsync(carbon);
        string run = $"r{Guid.NewGuid():N}"[..9];
        long now = Now;
        var victimNames = new List<string>();

        async Task<int> VictimAsync()
        {
            using var client = gw.Client();
            int accepted = 0;
            for (int b = 0; b < 20; b++)
            {
                var names = Enumerable.Range(b * 100, 100).Select(i => $"victim.{run}.m{i}").ToList();
                victimNames.AddRange(names);
                var reply = await client.IngestAsync("123", string.Concat(names.Select(n => $"{n} 1 {now}\n")));
                accepted += reply.Status == 200 ? 100 : 0;
                await Task.Delay(10);
            }
            return accepted;
        }

        async Task AttackerAsync()
        {
            using var client = gw.Client();
            string[] poisons = ["attacker.x 1 1e400", "attacker.x 1e309 " + now, "attacker.x 1 4294967296", "attacker.x -1e309 " + now];
            for (int k = 0; k < 40; k++)
            {
                // The attacker's own good line sits right behind its poison, in the same batch and the same TCP write.
                await client.IngestAsync("123", $"attacker.{run}.before{k} 1 {now}\n{poisons[k % poisons.Length]}\nattacker.{run}.after{k} 1 {now}\n");
                await Task.Delay(5);
            }
        }

        var victim = VictimAsync();
        await Task.WhenAll(victim, AttackerAsync());
        await Assert.That(await victim).IsEqualTo(2000);

        var expected = victimNames.Concat(Enumerable.Range(0, 40).SelectMany(k => new[] { $"attacker.{run}.before{k}", $"attacker.{run}.after{k}" })).ToList();
        var stored = await carbon.WaitForMetricsAsync(expected, TimeSpan.FromSeconds(60));
        await Assert.That(expected.Count(n => !stored.Contains(n))).IsEqualTo(0);
        await Assert.That(gw.App.Counters.LinesInvalid).IsEqualTo(40);
        await Assert.That(stored.Any(n => n.StartsWith("attacker.x", StringComparison.Ordinal))).IsFalse();
        await Assert.That(carbon.Log).DoesNotContain("OverflowError");
    }

    /// <summary>Each case is first sent to carbon directly, to show what carbon would do with it, then through the gateway.</summary>
    [Test]
    [Timeout(120_000)]
    public async Task Lines_carbon_would_store_under_another_name_or_reject_are_refused(CancellationToken _)
    {
        await using var carbon = await CarbonCache.StartAsync();
        long now = Now;
        // (line, where carbon stores it when sent directly: another name, or nowhere)
        (string Line, string? CarbonStoresAs)[] cases =
        [
            ($"{{0}}.dots..twice 1 {now}", "{0}.dots.twice"),
            ($".{{0}}.lead 1 {now}", "{0}.lead"),
            ($"{{0}}.trail. 1 {now}", "{0}.trail."),
            ($"{{0}}.sla/sh 1 {now}", "{0}.sla.sh"),
            ($"{{0}}.nb\u00a0sp 1 {now}", null),
            ($"{{0}}.line\u2028sep 1 {now}", null),
            ($"{{0}}.ideo\u3000space 1 {now}", null),
            ($"{{0}}.underscore 1_000 {now}", "{0}.underscore"),
            ($"{{0}}.huge 1e309 {now}", "{0}.huge"),
            ($"{{0}}.{new string('s', 252)} 1 {now}", null),
            ($"{{0}}.vtab\u000b1\u000b{now}", "{0}.vtab"),
        ];
        string Direct(string s) => string.Format(s, "direct");
        string Gated(string s) => string.Format(s, "gated");

        using (var raw = new TcpClient())
        {
            await raw.ConnectAsync("127.0.0.1", carbon.LinePort);
            var text = string.Concat(cases.Select(c => Direct(c.Line) + "\n")) + $"direct.ok 1 {now}\n";
            await raw.GetStream().WriteAsync(Encoding.UTF8.GetBytes(text));
        }
        var storedAs = cases.Where(c => c.CarbonStoresAs is not null).Select(c => Direct(c.CarbonStoresAs!)).Append("direct.ok").ToList();
        var direct = await carbon.WaitForMetricsAsync(storedAs, TimeSpan.FromSeconds(30));
        await Assert.That(storedAs.Where(n => !direct.Contains(n))).IsEmpty();

        await using var gw = await StartGatewayAsync(carbon);
        using var client = gw.Client();
        var reply = await client.IngestAsync("123", string.Concat(cases.Select(c => Gated(c.Line) + "\n")) + $"gated.ok 1 {now}\n");
        await Assert.That(reply.Status).IsEqualTo(200);
        await Assert.That(gw.App.Counters.LinesInvalid).IsEqualTo(cases.Length);
        // The gateway handed carbon one line, so no other "gated" name can turn up later: no need to wait and see.
        await Assert.That(gw.App.Destinations.Current[0].Counters.Routed).IsEqualTo(1);
        var stored = await carbon.WaitForMetricsAsync(["gated.ok"], TimeSpan.FromSeconds(30));
        await Assert.That(carbon.Metrics().Where(n => n.StartsWith("gated", StringComparison.Ordinal))).IsEquivalentTo(["gated.ok"]);
        var points = await carbon.FetchAsync("gated.ok");
        await Assert.That(points.Select(p => p.Value)).IsEquivalentTo([1.0]);
    }
}
