namespace Polymur.Gateway.Outputs;

/// <summary>
/// The last writes the peer acknowledged, in at most <see cref="CapacityBytes"/> of buffers, sent again first when the peer
/// closes or resets the connection. A daemon that stops (carbon-cache on SIGTERM) can lose what its kernel
/// acknowledged but it had not read or written out yet, and TCP cannot say which lines: resending the last few
/// hundred KB covers a restart of a slow carbon (its last batches) while keeping the duplicates of a busy outage
/// small. Not used when the gateway itself gave up on the peer (declared down): there the unacknowledged tail is
/// all that can be missing. Each kept write holds a lease on its buffer, and the bound is on those buffers, not on
/// the lines in them: a few lines left in a 16 MiB buffer (a batch whose huge line was refused) must not pin it.
/// Not thread-safe: one writer owns it.
/// </summary>
internal sealed class RecentlyAcknowledged
{
    /// <summary>
    /// 512 KiB of buffers: the last 5000-line proxy batch (about 290 KB, in a 512 KiB buffer), or the last seconds of
    /// a small sender. 1 MiB sent 0.9% of the outage scenario twice, too near the 1%.
    /// </summary>
    public const int CapacityBytes = 512 << 10;

    private const int MaxWrites = 256;

    private readonly Queue<PendingWrite> _writes = new();
    private long _bytes;

    /// <summary>Keeps an acknowledged write (taking over its lease), letting the oldest go past the bounds.</summary>
    public void Remember(PendingWrite write)
    {
        _writes.Enqueue(write with { Again = true });
        _bytes += write.Batch.Capacity;
        while ((_bytes > CapacityBytes || _writes.Count > MaxWrites) && _writes.TryDequeue(out var old))
        {
            _bytes -= old.Batch.Capacity;
            old.Release();
        }
    }

    /// <summary>Puts what is kept in front of <paramref name="pending"/>, oldest first; returns its lines.</summary>
    public long MoveTo(List<PendingWrite> pending)
    {
        long lines = 0;
        foreach (var write in _writes)
            lines += write.PointsLeft;
        pending.InsertRange(0, _writes);
        _writes.Clear();
        _bytes = 0;
        return lines;
    }

    /// <summary>Gives every lease back: the writer stops, or the destination was declared down.</summary>
    public void Clear()
    {
        while (_writes.TryDequeue(out var write))
            write.Release();
        _bytes = 0;
    }
}
