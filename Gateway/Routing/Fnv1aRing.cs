using System.Collections.Immutable;
using System.Text;
using Polymur.Gateway.Configuration;

namespace Polymur.Gateway.Routing;

/// <summary>
/// carbon-c-relay's fnv1a_ch: 100 replicas labelled <c>i-host:port</c> (or <c>i-instance</c> when an instance
/// is given), at FNV-1a positions folded to 16 bits; ties sorted by host then port, and the first of a tie
/// owns the position. Unlike carbon_ch, the port counts, so two daemons on one host are distinct.
/// </summary>
public sealed class Fnv1aRing : IPlacement
{
    private readonly int[] _positions;
    private readonly int[] _owners;

    public Fnv1aRing(ImmutableArray<DestinationAddress> destinations)
    {
        if (destinations.IsEmpty)
            throw new ArgumentException("a ring needs at least one destination");
        var entries = new List<(int Position, int Owner)>(destinations.Length * CarbonRing.Replicas);
        for (int d = 0; d < destinations.Length; d++)
        {
            var dest = destinations[d];
            for (int i = 0; i < CarbonRing.Replicas; i++)
            {
                string label = dest.Instance is null ? $"{i}-{dest.Host}:{dest.Port}" : $"{i}-{dest.Instance}";
                entries.Add((Fnv1a.Position16(Encoding.UTF8.GetBytes(label)), d));
            }
        }
        entries.Sort((a, b) =>
        {
            int c = a.Position.CompareTo(b.Position);
            if (c != 0)
                return c;
            c = string.CompareOrdinal(destinations[a.Owner].Host, destinations[b.Owner].Host);
            return c != 0 ? c : destinations[a.Owner].Port.CompareTo(destinations[b.Owner].Port);
        });
        for (int i = 1; i < entries.Count; i++)
        {
            if (entries[i].Position == entries[i - 1].Position)
                entries[i] = entries[i] with { Owner = entries[i - 1].Owner };
        }
        _positions = [.. entries.Select(e => e.Position)];
        _owners = [.. entries.Select(e => e.Owner)];
    }

    public int DestinationFor(ReadOnlySpan<byte> metricPath)
    {
        int position = Fnv1a.Position16(metricPath);
        int index = Array.BinarySearch(_positions, position);
        if (index < 0)
            index = ~index;
        else
            while (index > 0 && _positions[index - 1] == position)
                index--;
        return _owners[index == _positions.Length ? 0 : index];
    }
}
