using System.Collections.Immutable;
using System.Text;
using Polymur.Gateway.Configuration;
using Polymur.Gateway.Routing;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Routing;

/// <summary>
/// Placement must be the reference implementations', metric for metric: Graphite's carbon/hashing.py for
/// carbon_ch, and carbon-c-relay for fnv1a_ch and jump_fnv1a_ch. Vectors/make_vectors.py made the files
/// from Debian's graphite-carbon and carbon-c-relay (10,000 names, 8 rings of 1 to 8 destinations).
/// </summary>
public class PlacementVectorTests
{
    [Test]
    [Arguments("carbon_ch.tsv")]
    [Arguments("fnv1a_ch.tsv")]
    [Arguments("jump_fnv1a_ch.tsv")]
    [Arguments("carbon_ch.tsv", "tls://")]
    [Arguments("fnv1a_ch.tsv", "tls://")]
    [Arguments("jump_fnv1a_ch.tsv", "tls://")]
    public async Task Placement_matches_the_reference_for_every_metric_and_ring(string file, string scheme = "")
    {
        // The scheme is how to connect, not who the destination is: tls:// moves no metric.
        var (rings, rows) = Load(file, scheme);
        await Assert.That(rings.All(r => r.All(d => d.Tls == (scheme.Length > 0)))).IsTrue();
        var placements = rings.Select(r => Create(file, r)).ToArray();
        var mismatches = new List<string>();
        foreach (var (name, expected) in rows)
        {
            var bytes = Encoding.UTF8.GetBytes(name);
            for (int r = 0; r < rings.Count; r++)
            {
                int got = placements[r].DestinationFor(bytes);
                if (got != expected[r])
                    mismatches.Add($"ring {r}, {name}: expected {expected[r]}, got {got}");
            }
        }

        await Assert.That(rows.Count).IsEqualTo(10_000);
        await Assert.That(rings.Count).IsEqualTo(8);
        await Assert.That(mismatches.Count).IsEqualTo(0).Because(string.Join("; ", mismatches.Take(5)));
    }

    [Test]
    public async Task Every_destination_of_a_ring_owns_some_metrics()
    {
        var (rings, rows) = Load("carbon_ch.tsv");
        var ring = new CarbonRing(rings[5]);
        var owners = rows.Select(r => ring.DestinationFor(Encoding.UTF8.GetBytes(r.Name))).Distinct().Count();
        await Assert.That(owners).IsEqualTo(8);
    }

    [Test]
    public async Task The_port_is_not_part_of_the_carbon_ch_label()
    {
        ImmutableArray<DestinationAddress> a = [new("10.0.0.1", 2003, null), new("10.0.0.2", 2003, null)];
        ImmutableArray<DestinationAddress> b = [new("10.0.0.1", 9999, null), new("10.0.0.2", 1234, null)];
        var ra = new CarbonRing(a);
        var rb = new CarbonRing(b);
        var (_, rows) = Load("carbon_ch.tsv");
        await Assert.That(rows.All(r => ra.DestinationFor(Encoding.UTF8.GetBytes(r.Name)) == rb.DestinationFor(Encoding.UTF8.GetBytes(r.Name)))).IsTrue();
    }

    [Test]
    [Arguments("10.0.0.1", null, "('10.0.0.1', None)")]
    [Arguments("10.0.0.1", "a", "('10.0.0.1', 'a')")]
    [Arguments("host", "it's", "('host', \"it's\")")]
    [Arguments("host", "back\\slash", "('host', 'back\\\\slash')")]
    public async Task Labels_are_pythons_tuple_repr(string host, string? instance, string expected)
    {
        await Assert.That($"({PythonRepr.Of(host)}, {PythonRepr.Of(instance)})").IsEqualTo(expected);
    }

    internal static IPlacement Create(string file, ImmutableArray<DestinationAddress> ring) => file switch
    {
        "carbon_ch.tsv" => new CarbonRing(ring),
        "fnv1a_ch.tsv" => new Fnv1aRing(ring),
        _ => new JumpFnv1aPlacement(ring),
    };

    internal static (List<ImmutableArray<DestinationAddress>> Rings, List<(string Name, int[] Expected)> Rows) Load(string file, string scheme = "")
    {
        var rings = new List<ImmutableArray<DestinationAddress>>();
        var rows = new List<(string, int[])>();
        foreach (var line in File.ReadLines(Path.Combine(GatewayProcess.RepoRoot, "Gateway.Tests", "Routing", "Vectors", file), Encoding.UTF8))
        {
            if (line.StartsWith("# ring ", StringComparison.Ordinal))
            {
                var list = line[(line.IndexOf(": ", StringComparison.Ordinal) + 2)..].Split(',');
                rings.Add([.. list.Select(d => DestinationAddress.TryParse(scheme + d, out var a, out _) ? a! : throw new FormatException(d))]);
                continue;
            }
            var parts = line.Split('\t');
            rows.Add((parts[0], [.. parts.Skip(1).Select(int.Parse)]));
        }
        return (rings, rows);
    }
}
