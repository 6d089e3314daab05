using System.Collections.Immutable;
using System.Globalization;
using Polymur.Gateway.Configuration;

namespace Polymur.Gateway.Routing;

/// <summary>
/// carbon-c-relay's jump_fnv1a_ch: Lamping and Veach's jump consistent hash of the metric's 64-bit FNV-1a.
/// Buckets are the destinations with an instance first, ordered by instance (as numbers when both are
/// numbers), then those without one in configured order. No ring: placement costs a few multiplications.
/// </summary>
public sealed class JumpFnv1aPlacement : IPlacement
{
    private readonly int[] _buckets;

    public JumpFnv1aPlacement(ImmutableArray<DestinationAddress> destinations)
    {
        if (destinations.IsEmpty)
            throw new ArgumentException("jump hashing needs at least one destination");
        var order = Enumerable.Range(0, destinations.Length).ToList();
        order.Sort((a, b) => Compare(destinations, a, b));
        _buckets = [.. order];
    }

    public int DestinationFor(ReadOnlySpan<byte> metricPath) => _buckets[Bucket(Fnv1a.Hash64(metricPath), _buckets.Length)];

    public static int Bucket(ulong key, int buckets)
    {
        long b = -1, j = 0;
        while (j < buckets)
        {
            b = j;
            key = key * 2862933555777941757UL + 1;
            j = (long)((b + 1) * ((double)(1L << 31) / ((key >> 33) + 1)));
        }
        return (int)b;
    }

    private static int Compare(ImmutableArray<DestinationAddress> d, int left, int right)
    {
        string? l = d[left].Instance, r = d[right].Instance;
        if (l is null && r is null)
            return left.CompareTo(right);
        if (l is null)
            return 1;
        if (r is null)
            return -1;
        if (long.TryParse(l, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long ln)
            && long.TryParse(r, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long rn))
            return ln.CompareTo(rn);
        return string.CompareOrdinal(l, r);
    }
}
