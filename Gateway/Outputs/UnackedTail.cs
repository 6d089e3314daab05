namespace Polymur.Gateway.Outputs;

/// <summary>
/// The writes a connection took that its peer has not acknowledged yet, oldest first, each with where it ends in
/// the connection's stream. Acknowledged writes leave from the front; after a connection loss the rest is sent
/// again, from the first line the peer's TCP did not acknowledge whole, so that duplicates come only from here.
/// It holds what sits in the kernel's send queue, so it is bounded by the socket's send buffer (net.ipv4.tcp_wmem,
/// at most 4 MiB by default), in leased batch buffers inside -max-batch-memory. Not thread-safe: one writer owns it.
/// </summary>
internal sealed class UnackedTail
{
    private readonly Queue<(PendingWrite Write, long End)> _writes = new();

    public bool IsEmpty => _writes.Count == 0;

    /// <summary>Lines not yet acknowledged.</summary>
    public long Lines { get; private set; }

    /// <summary>Keeps a write the connection took, ending at <paramref name="end"/> in its stream.</summary>
    public void Add(PendingWrite write, long end)
    {
        _writes.Enqueue((write, end));
        Lines += write.PointsLeft;
    }

    /// <summary>The oldest write, if the peer acknowledged it whole (the stream up to <paramref name="acknowledged"/>).</summary>
    public bool TryTakeAcknowledged(long acknowledged, out PendingWrite write)
    {
        if (_writes.TryPeek(out var oldest) && oldest.End <= acknowledged)
        {
            _writes.Dequeue();
            Lines -= oldest.Write.PointsLeft;
            write = oldest.Write;
            return true;
        }
        write = default;
        return false;
    }

    /// <summary>
    /// The connection is lost: puts every write kept in front of <paramref name="pending"/>, oldest first, the oldest
    /// starting at its first line not acknowledged whole. <paramref name="acknowledgedLines"/> of <paramref name="partly"/>
    /// (the oldest write, as it was) were acknowledged; returns the lines to send again.
    /// </summary>
    public long MoveTo(List<PendingWrite> pending, long acknowledged, out PendingWrite partly, out int acknowledgedLines)
    {
        partly = default;
        acknowledgedLines = 0;
        var writes = new List<PendingWrite>(_writes.Count);
        bool first = true;
        while (_writes.TryDequeue(out var kept))
        {
            var write = kept.Write;
            long start = kept.End - write.Data.Count;
            if (first && acknowledged > start)
            {
                var prefix = write.Data.AsSpan(0, (int)(acknowledged - start));
                int lastLf = prefix.LastIndexOf((byte)'\n');
                if (lastLf >= 0)
                {
                    partly = write;
                    acknowledgedLines = prefix[..(lastLf + 1)].Count((byte)'\n');
                    write = write.Advance(lastLf + 1, acknowledgedLines);
                }
            }
            first = false;
            writes.Add(write);
        }
        long lines = Lines - acknowledgedLines;
        Lines = 0;
        pending.InsertRange(0, writes);
        return lines;
    }
}
