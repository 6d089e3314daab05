using System.Text;
using Polymur.Gateway.Configuration;
using Polymur.Gateway.Outputs;
using Polymur.Gateway.Parsing;
using Polymur.Gateway.Primitives;
using Polymur.Gateway.Routing;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Routing;

/// <summary>
/// The router's split of one batch, with the parser's line index and without it: the parts must be the
/// same bytes either way, since the index only saves the search for line and path ends.
/// </summary>
public class HashRouterTests
{
    // carbon_ch places by host and instance, not port: each needs its own instance to get a share.
    private static readonly string[] Names = ["127.0.0.1:2003:a", "127.0.0.1:2004:b", "127.0.0.1:2005:c"];

    private static HashRouter Router(BufferPool buffers)
    {
        var set = IdleDestinations.Create(Distribution.CarbonCh, Names);
        return new HashRouter(new RoutingTables(set, Distribution.CarbonCh), buffers);
    }

    private static string RandomBatch(Random random, int lines) => string.Concat(Enumerable.Range(0, lines).Select(i =>
        $"{(random.Next(3) == 0 ? "  " : "")}servers.host{random.Next(50)}.cpu{i % 7}{(random.Next(4) == 0 ? ";dc=eu" : "")}{(random.Next(2) == 0 ? "\t" : " ")}{random.Next(1000)} 1700000000{(random.Next(5) == 0 ? "\r" : "")}\n"));

    /// <summary>Parses <paramref name="text"/> as ingest does, with an index of <paramref name="room"/> entries.</summary>
    private static (Batch Batch, LineIndex Index) Parse(BufferPool buffers, string text, string? prefix, int room)
    {
        var input = Encoding.UTF8.GetBytes(text);
        var entries = room > 0 ? buffers.Rent(LineIndex.BytesFor(room)) : null;
        var index = LineIndex.Writable(entries)[..room];
        ParseCounts counts;
        int length, indexed;
        byte[] lines;
        var rejected = new RejectedLine([]);
        if (prefix is null)
        {
            lines = buffers.Rent(input.Length + 1);
            input.CopyTo(lines, 0);
            counts = LineSplitter.CompactInPlace(lines, input.Length, 16384, index, ref rejected, out length, out indexed);
        }
        else
        {
            lines = buffers.Rent(64);
            counts = LineSplitter.CopyWithPrefix(input, Encoding.UTF8.GetBytes(prefix), 16384, long.MaxValue, buffers, ref lines, index, ref rejected, out length, out indexed);
        }
        return (new Batch(lines, length, counts.Valid, buffers), new LineIndex(entries, indexed));
    }

    private static Dictionary<string, string> Split(HashRouter router, Batch batch, LineIndex index)
    {
        var plan = new List<Delivery>();
        router.Plan(batch, index, plan);
        return plan.ToDictionary(d => d.Destination.Name, d => Encoding.UTF8.GetString(d.Batch.Data));
    }

    [Test]
    [Arguments(null)]
    [Arguments("tenant")]
    public async Task Parts_are_the_same_with_the_index_and_without_it(string? prefix)
    {
        var buffers = new BufferPool();
        var router = Router(buffers);
        var random = new Random(7);
        for (int round = 0; round < 20; round++)
        {
            string text = RandomBatch(random, 50 + random.Next(400)) + "bad line\n\n";
            var (indexed, index) = Parse(buffers, text, prefix, 1000);
            var (scanned, none) = Parse(buffers, text, prefix, 0);
            await Assert.That(index.Covers(indexed.Points)).IsTrue();
            await Assert.That(none.Count).IsEqualTo(0);

            var withIndex = Split(router, indexed, index);
            var withoutIndex = Split(router, scanned, none);
            await Assert.That(withIndex).IsEquivalentTo(withoutIndex);
            await Assert.That(withIndex.Count).IsGreaterThan(1);
        }
    }

    [Test]
    public async Task An_index_that_ran_out_of_room_is_not_used()
    {
        var buffers = new BufferPool();
        var router = Router(buffers);
        string text = RandomBatch(new Random(3), 300);
        var (partial, index) = Parse(buffers, text, null, 100);
        var (scanned, none) = Parse(buffers, text, null, 0);

        await Assert.That(index.Count).IsEqualTo(100);
        await Assert.That(index.Covers(partial.Points)).IsFalse();
        await Assert.That(Split(router, partial, index)).IsEquivalentTo(Split(router, scanned, none));
    }

    [Test]
    public async Task Index_entries_give_each_lines_length_and_its_paths_length()
    {
        var buffers = new BufferPool();
        var (batch, index) = Parse(buffers, "  a.b 1 1\r\nbad\nc.d;x=y\t2 2\n", null, 8);
        await Assert.That(Encoding.UTF8.GetString(batch.Data)).IsEqualTo("a.b 1 1\nc.d;x=y\t2 2\n");
        await Assert.That(index.Entries.ToArray().Select(e => (LineIndex.LineLength(e), LineIndex.PathLength(e)))).IsEquivalentTo([(8, 3), (12, 7)]);

        var (prefixed, prefixIndex) = Parse(buffers, "a.b 1 1\n", "t", 8);
        await Assert.That(Encoding.UTF8.GetString(prefixed.Data)).IsEqualTo("t.a.b 1 1\n");
        await Assert.That(prefixIndex.Entries.ToArray().Select(e => (LineIndex.LineLength(e), LineIndex.PathLength(e)))).IsEquivalentTo([(10, 5)]);
    }
}
