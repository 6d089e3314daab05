using System.Text;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Routing;

/// <summary>Several gateways behind one load balancer place every metric the same way: the ring depends only on the destinations.</summary>
public class ScaleOutTests
{
    [Test]
    [Arguments("hash-route")]
    [Arguments("jump_fnv1a_ch")]
    public async Task Two_gateway_processes_with_the_same_destinations_place_every_metric_identically(string distribution)
    {
        await using var a = TcpSink.Start();
        await using var b = TcpSink.Start();
        await using var c = TcpSink.Start();
        TcpSink[] sinks = [a, b, c];
        string destinations = string.Join(",", sinks.Select((s, i) => $"127.0.0.1:{s.Port}:{"abc"[i]}"));
        string[] args = ["-dev-mode", "-listen-addr", "127.0.0.1", "-listen-http-port", "0", "-distribution", distribution, "-destinations", destinations];
        await using var first = GatewayProcess.Start(GatewayProcess.JitBinary, args);
        await using var second = GatewayProcess.Start(GatewayProcess.JitBinary, args);
        using var toFirst = new ProxyClient(await first.WaitForHttpAsync());
        using var toSecond = new ProxyClient(await second.WaitForHttpAsync());
        var names = Enumerable.Range(0, 3000).Select(i => $"fleet.host{i % 300}.svc{i}.latency").ToList();

        // Each gateway gets the same metrics, as a load balancer would spread one fleet's proxies.
        await toFirst.IngestAsync("123", string.Concat(names.Select(n => $"{n} 1 1700000000\n")));
        await toSecond.IngestAsync("123", string.Concat(names.Select(n => $"{n} 2 1700000000\n")));

        // Every line first (each sink is written at its own pace), then nothing more.
        await Assert.That(await Poll.UntilAsync(() => sinks.Sum(s => s.Count) >= 6000, TimeSpan.FromSeconds(30))).IsTrue();
        var lines = new List<(int Sink, string Line)>();
        foreach (var (sink, i) in sinks.Select((s, i) => (s, i)))
            lines.AddRange((await sink.SettleAsync()).Select(l => (i, l)));
        var byName = lines.GroupBy(l => l.Line.Split(' ')[0]).ToDictionary(g => g.Key, g => g.Select(x => x.Sink).ToList());

        await Assert.That(lines.Count).IsEqualTo(6000);
        await Assert.That(byName.Count).IsEqualTo(3000);
        // Both copies of every metric (value 1 from one gateway, value 2 from the other) went to one sink.
        await Assert.That(byName.Values.All(s => s.Count == 2 && s[0] == s[1])).IsTrue();
        await Assert.That(byName.Values.Select(s => s[0]).Distinct().Count()).IsEqualTo(3);
    }
}
