using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text;
using Polymur.Gateway.Configuration;

namespace Polymur.Gateway.Routing;

/// <summary>
/// Graphite's carbon_ch ring (carbon/hashing.py): 100 replicas per destination labelled
/// <c>str((host, instance)) + ":" + i</c>, positioned at the first 16 bits of the label's MD5; a taken
/// position moves up by one until free. A metric goes to the first entry at or after its own position,
/// wrapping. The port is not part of the label. Built once; it never changes while destinations are down.
/// </summary>
public sealed class CarbonRing : IPlacement
{
    public const int Replicas = 100;

    private readonly int[] _positions;
    private readonly int[] _owners;

    public CarbonRing(ImmutableArray<DestinationAddress> destinations)
    {
        if (destinations.IsEmpty)
            throw new ArgumentException("a ring needs at least one destination");
        var taken = new HashSet<int>();
        var entries = new List<(int Position, int Owner)>(destinations.Length * Replicas);
        for (int d = 0; d < destinations.Length; d++)
        {
            string label = $"({PythonRepr.Of(destinations[d].Host)}, {PythonRepr.Of(destinations[d].Instance)})";
            for (int i = 0; i < Replicas; i++)
            {
                int position = Position(Encoding.UTF8.GetBytes($"{label}:{i}"));
                while (!taken.Add(position))
                    position++;
                entries.Add((position, d));
            }
        }
        entries.Sort((a, b) => a.Position.CompareTo(b.Position));
        _positions = [.. entries.Select(e => e.Position)];
        _owners = [.. entries.Select(e => e.Owner)];
    }

    /// <summary>The first two bytes of the MD5, big-endian: Python's int(md5(key).hexdigest()[:4], 16).</summary>
    public static int Position(ReadOnlySpan<byte> key)
    {
        Span<byte> digest = stackalloc byte[16];
        MD5.HashData(key, digest);
        return (digest[0] << 8) | digest[1];
    }

    public int DestinationFor(ReadOnlySpan<byte> metricPath) => OwnerAt(Position(metricPath));

    /// <summary>bisect_left over the ring's positions, modulo its length.</summary>
    internal int OwnerAt(int position)
    {
        int index = Array.BinarySearch(_positions, position);
        if (index < 0)
            index = ~index;
        return _owners[index == _positions.Length ? 0 : index];
    }
}
