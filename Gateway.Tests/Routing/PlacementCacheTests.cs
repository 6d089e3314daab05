using System.Text;
using Polymur.Gateway.Routing;

namespace Polymur.Gateway.Tests.Routing;

public class PlacementCacheTests
{
    [Test]
    [Arguments(4)]
    [Arguments(64)]
    [Arguments(1 << 16)]
    public async Task Cached_answers_are_always_the_rings_even_when_the_cache_thrashes(int entries)
    {
        var (rings, rows) = PlacementVectorTests.Load("carbon_ch.tsv");
        var ring = new CarbonRing(rings[7]);
        var cache = new PlacementCache(ring, entries);
        var random = new Random(3);
        int wrong = 0;
        for (int i = 0; i < 50_000; i++)
        {
            var (name, expected) = rows[random.Next(rows.Count)];
            if (cache.DestinationFor(Encoding.UTF8.GetBytes(name)) != expected[7])
                wrong++;
        }
        await Assert.That(wrong).IsEqualTo(0);
    }

    [Test]
    public async Task Concurrent_lookups_agree_with_the_ring()
    {
        var (rings, rows) = PlacementVectorTests.Load("carbon_ch.tsv");
        var cache = new PlacementCache(new CarbonRing(rings[5]), 256);
        int wrong = 0;
        await Task.WhenAll(Enumerable.Range(0, 4).Select(t => Task.Run(() =>
        {
            for (int i = t; i < rows.Count * 3; i += 4)
            {
                var (name, expected) = rows[i % rows.Count];
                if (cache.DestinationFor(Encoding.UTF8.GetBytes(name)) != expected[5])
                    Interlocked.Increment(ref wrong);
            }
        })));
        await Assert.That(wrong).IsEqualTo(0);
    }
}
