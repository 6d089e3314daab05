using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Polymur.Gateway.Routing;

/// <summary>
/// Remembers where recent metric paths were placed. Real metric names repeat every flush interval, and an
/// MD5 per line (carbon_ch, through OpenSSL) costs far more than a lookup. Bounded and 4-way set-associative:
/// a direct-mapped cache let 7% of a 5000-name batch evict each other on every batch (measured), four ways
/// make that rare.
/// </summary>
/// <remarks>
/// A lookup touches as little memory as it can, since at 64 Ki entries it misses the CPU's nearest caches:
/// the four tags of a set share a cache line and are compared before any entry is read, and an entry is one
/// array holding its destination and then its path. (Keeping the tags beside the entries, 48 bytes a set,
/// measured slower.) Each slot holds one immutable entry replaced whole,
/// so no lock is taken; a tag is only a hint, and a hit compares the full path, so the answer is always the
/// placement's own. The hash is seeded per process, so no client can aim its paths at one set.
/// </remarks>
public sealed class PlacementCache : IPlacement
{
    private const int Ways = 4;

    /// <summary>Paths longer than this are placed without caching, so the cache stays bounded in bytes too.</summary>
    public const int MaxCachedPathLength = 256;

    private readonly IPlacement _inner;
    private readonly byte[]?[] _entries;
    private readonly uint[] _tags;
    private readonly int _setMask;
    private readonly ulong _seed = (ulong)Random.Shared.NextInt64();

    public PlacementCache(IPlacement inner, int entries = 1 << 16)
    {
        if (entries < Ways || (entries & (entries - 1)) != 0)
            throw new ArgumentException("entries must be a power of two, at least 4", nameof(entries));
        _inner = inner;
        _entries = new byte[]?[entries];
        _tags = new uint[entries];
        _setMask = entries / Ways - 1;
    }

    public int DestinationFor(ReadOnlySpan<byte> metricPath)
    {
        if (metricPath.Length > MaxCachedPathLength)
            return _inner.DestinationFor(metricPath);
        ulong hash = Hash(metricPath, _seed);
        int set = ((int)hash & _setMask) * Ways;
        uint tag = (uint)(hash >> 32) | 1; // never 0, the tag of an empty slot
        for (int way = 0; way < Ways; way++)
        {
            if (_tags[set + way] != tag)
                continue;
            var entry = _entries[set + way];
            if (entry is not null && metricPath.SequenceEqual(entry.AsSpan(sizeof(int))))
                return BinaryPrimitives.ReadInt32LittleEndian(entry);
        }
        int destination = _inner.DestinationFor(metricPath);
        var added = new byte[sizeof(int) + metricPath.Length];
        BinaryPrimitives.WriteInt32LittleEndian(added, destination);
        metricPath.CopyTo(added.AsSpan(sizeof(int)));
        // Newest first; the oldest of the set falls out. Racing writers can duplicate or lose an entry, or
        // leave a tag that does not match its entry, never corrupt one: every entry is a whole, correct
        // (destination, path) pair.
        for (int way = Ways - 1; way > 0; way--)
        {
            _entries[set + way] = _entries[set + way - 1];
            _tags[set + way] = _tags[set + way - 1];
        }
        _entries[set] = added;
        _tags[set] = tag;
        return destination;
    }

    // Eight bytes a step, multiply and fold: it only picks a set and a tag, so speed matters more than quality.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Hash(ReadOnlySpan<byte> data, ulong seed)
    {
        const ulong K = 0x9E3779B97F4A7C15;
        ulong h = seed ^ ((ulong)data.Length * K);
        while (data.Length >= 8)
        {
            h = (h ^ BinaryPrimitives.ReadUInt64LittleEndian(data)) * K;
            h ^= h >> 29;
            data = data[8..];
        }
        ulong tail = 0;
        for (int i = 0; i < data.Length; i++)
            tail |= (ulong)data[i] << (8 * i);
        h = (h ^ tail) * K;
        return h ^ (h >> 32);
    }
}
