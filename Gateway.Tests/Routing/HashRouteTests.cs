using System.Collections.Immutable;
using System.Text;
using Polymur.Gateway.Configuration;
using Polymur.Gateway.Routing;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Routing;

/// <summary>Hash distributions end to end: each real sink gets exactly the metrics its placement owns.</summary>
public class HashRouteTests
{
    [Test]
    [Arguments(Distribution.CarbonCh, "carbon_ch.tsv")]
    [Arguments(Distribution.Fnv1aCh, "fnv1a_ch.tsv")]
    [Arguments(Distribution.JumpFnv1aCh, "jump_fnv1a_ch.tsv")]
    public async Task Each_sink_gets_exactly_its_own_metrics(Distribution distribution, string vectors)
    {
        await using var a = TcpSink.Start();
        await using var b = TcpSink.Start();
        await using var c = TcpSink.Start();
        TcpSink[] sinks = [a, b, c];
        // Instances make the three 127.0.0.1 sinks distinct for carbon_ch, whose label has no port.
        ImmutableArray<DestinationAddress> addresses = [.. sinks.Select((s, i) => new DestinationAddress("127.0.0.1", s.Port, "abc"[i].ToString()))];
        await using var gw = await TestGateway.StartAsync(sinks, o => o with { Distribution = distribution, Destinations = addresses, OutgoingQueueCap = 1_000_000 });
        using var client = gw.Client();
        var names = PlacementVectorTests.Load(vectors).Rows.Select(r => r.Name).ToList();
        var placement = PlacementVectorTests.Create(vectors, addresses);

        for (int i = 0; i < names.Count; i += 2500)
        {
            var body = string.Concat(names.Skip(i).Take(2500).Select(n => $"{n} 1 1700000000\n"));
            await Assert.That((await client.IngestAsync("123", body)).Status).IsEqualTo(200);
        }

        for (int s = 0; s < 3; s++)
        {
            var expected = names.Where(n => placement.DestinationFor(Encoding.UTF8.GetBytes(n)) == s).Select(n => $"{n} 1 1700000000").ToList();
            await Assert.That(await sinks[s].WaitForAsync(expected.Count)).IsTrue();
            var got = await sinks[s].SettleAsync();
            await Assert.That(expected.Count).IsGreaterThan(1000);
            await Assert.That(got.Order(StringComparer.Ordinal).SequenceEqual(expected.Order(StringComparer.Ordinal))).IsTrue();
        }
        await Assert.That(gw.App.Inflight.Count).IsEqualTo(0);
    }

    [Test]
    public async Task A_down_destination_keeps_its_metrics_the_ring_does_not_move()
    {
        await using var up = TcpSink.Start();
        var down = TcpSink.Start();
        await down.DisposeAsync();
        ImmutableArray<DestinationAddress> addresses = [new("127.0.0.1", up.Port, "a"), new("127.0.0.1", down.Port, "b")];
        await using var gw = await TestGateway.StartAsync([up, down], o => o with { Distribution = Distribution.CarbonCh, Destinations = addresses, OutgoingQueueCap = 1_000_000 });
        using var client = gw.Client();
        var ring = new CarbonRing(addresses);
        var names = Enumerable.Range(0, 2000).Select(i => $"svc.host{i}.cpu").ToList();

        await client.IngestAsync("123", string.Concat(names.Select(n => $"{n} 1 1\n")));

        var mine = names.Where(n => ring.DestinationFor(Encoding.UTF8.GetBytes(n)) == 0).ToHashSet();
        await Assert.That(await up.WaitForAsync(mine.Count)).IsTrue();
        var got = await up.SettleAsync();
        await Assert.That(got.Select(l => l.Split(' ')[0]).ToHashSet().SetEquals(mine)).IsTrue();
        var downDestination = gw.App.Destinations.Current[1];
        await Assert.That(downDestination.Counters.Queued).IsEqualTo(names.Count - mine.Count);
    }

    [Test]
    public async Task Empty_lines_lines_without_space_and_huge_lines_never_crash_hash_route()
    {
        await using var a = TcpSink.Start();
        await using var b = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync([a, b], o => o with { Distribution = Distribution.CarbonCh, MaxLineLength = 1 << 20 });
        using var client = gw.Client();
        // About 500 KB of path, in segments short enough to be file names.
        string huge = string.Join('.', Enumerable.Repeat(new string('h', 200), 2500)) + " 1 1\n";

        var reply = await client.IngestAsync("123", "\n\nnospace\n" + huge + "ok.one 1 1\n\r\n");

        await Assert.That(reply.Status).IsEqualTo(200);
        // Both lines first, wherever each went, then nothing more.
        await Assert.That(await Poll.UntilAsync(() => a.Count + b.Count >= 2, TimeSpan.FromSeconds(30))).IsTrue();
        await Assert.That((await a.SettleAsync()).Count + (await b.SettleAsync()).Count).IsEqualTo(2);
        await Assert.That(gw.App.Counters.LinesInvalid).IsEqualTo(1);
    }
}
