using Polymur.Gateway.Primitives;

namespace Polymur.Gateway.Outputs;

/// <summary>
/// The batches a writer's connection carried last, kept to send again first when that connection is lost: a
/// destination that dies discards what sat unread in its socket, and TCP cannot tell which lines those were.
/// Bounded by the buffer bytes it holds and by a count; each kept batch holds a lease on its buffer.
/// Not thread-safe: one writer owns it.
/// </summary>
internal sealed class ResendWindow(long capacityBytes, int maxBatches)
{
    private readonly Queue<PendingWrite> _sent = new();
    private long _bytes;

    /// <summary>Keeps a batch the kernel took (leased by the caller), dropping the oldest past the bounds.</summary>
    public void Remember(PendingWrite sent)
    {
        _sent.Enqueue(sent);
        _bytes += sent.Batch.Capacity;
        while ((_bytes > capacityBytes || _sent.Count > maxBatches) && _sent.TryDequeue(out var old))
        {
            _bytes -= old.Batch.Capacity;
            old.Batch.ReleaseLease();
        }
    }

    /// <summary>Puts everything kept in front of <paramref name="pending"/>, oldest first; returns its lines.</summary>
    public long MoveTo(List<PendingWrite> pending)
    {
        long lines = 0;
        foreach (var p in _sent)
            lines += p.PointsLeft;
        pending.InsertRange(0, _sent);
        _sent.Clear();
        _bytes = 0;
        return lines;
    }

    /// <summary>Gives back every buffer kept: the writer stopped.</summary>
    public void Clear()
    {
        while (_sent.TryDequeue(out var sent))
            sent.Batch.ReleaseLease();
        _bytes = 0;
    }
}
