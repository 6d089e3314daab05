namespace Polymur.Gateway.Routing;

/// <summary>
/// Remembers where recent metric paths were placed. Real metric names repeat every flush interval, and an
/// MD5 per line (carbon_ch) costs far more than a lookup. Direct-mapped and bounded: a slot holds one
/// immutable entry, replaced whole, so readers and writers need no lock. A hit compares the full path, so
/// the answer is always the placement's own.
/// </summary>
public sealed class PlacementCache : IPlacement
{
    private readonly IPlacement _inner;
    private readonly Entry?[] _slots;
    private readonly int _mask;

    public PlacementCache(IPlacement inner, int slots = 1 << 16)
    {
        if (slots <= 0 || (slots & (slots - 1)) != 0)
            throw new ArgumentException("slots must be a power of two", nameof(slots));
        _inner = inner;
        _slots = new Entry?[slots];
        _mask = slots - 1;
    }

    /// <summary>Paths longer than this are placed without caching, so the cache stays bounded in bytes too.</summary>
    public const int MaxCachedPathLength = 256;

    public int DestinationFor(ReadOnlySpan<byte> metricPath)
    {
        if (metricPath.Length > MaxCachedPathLength)
            return _inner.DestinationFor(metricPath);
        var hash = new HashCode();
        hash.AddBytes(metricPath);
        int slot = hash.ToHashCode() & _mask;
        var entry = _slots[slot];
        if (entry is not null && metricPath.SequenceEqual(entry.Path))
            return entry.Destination;
        int destination = _inner.DestinationFor(metricPath);
        _slots[slot] = new Entry(metricPath.ToArray(), destination);
        return destination;
    }

    private sealed record Entry(byte[] Path, int Destination);
}
