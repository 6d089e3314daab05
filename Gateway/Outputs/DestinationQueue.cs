using System.Collections.Concurrent;
using Polymur.Gateway.Primitives;

namespace Polymur.Gateway.Outputs;

/// <summary>
/// One destination's queue of batches, bounded in points. Lock-free: ConcurrentQueue is a lock-free
/// segment queue, the bound is one interlocked add, and the writer is woken through <see cref="AsyncSignal"/>.
/// </summary>
/// <remarks>
/// A batch is admitted while fewer than <c>capacity</c> points are queued, so the queue may pass its
/// capacity by at most one batch. Without that, the default cap (4096 points) would refuse every
/// 5000-line batch a real proxy sends.
/// </remarks>
internal sealed class DestinationQueue(int capacityPoints)
{
    private readonly ConcurrentQueue<Batch> _batches = new();
    private readonly AsyncSignal _signal = new();
    private long _points;

    public int CapacityPoints => capacityPoints;

    /// <summary>Points queued or being written.</summary>
    public long Points => Volatile.Read(ref _points);

    public bool IsEmpty => _batches.IsEmpty;

    /// <summary>Signalled whenever the writer frees room.</summary>
    public SpaceSignal Space { get; } = new();

    /// <summary>Claims room for <paramref name="points"/>; false when the queue is full.</summary>
    public bool TryReserve(int points)
    {
        long after = Interlocked.Add(ref _points, points);
        if (after - points < capacityPoints)
            return true;
        Interlocked.Add(ref _points, -points);
        return false;
    }

    /// <summary>Gives back room claimed by <see cref="TryReserve"/> that will not be used.</summary>
    public void Unreserve(int points)
    {
        Interlocked.Add(ref _points, -points);
        Space.Notify();
    }

    /// <summary>Queues a batch whose room was reserved (the caller has already retained it for this queue).</summary>
    public void EnqueueReserved(Batch batch)
    {
        _batches.Enqueue(batch);
        _signal.Set();
    }

    public bool TryDequeue(out Batch batch) => _batches.TryDequeue(out batch!);

    /// <summary>The writer is done with these points (delivered or dropped).</summary>
    public void Complete(long points)
    {
        Interlocked.Add(ref _points, -points);
        Space.Notify();
    }

    public ValueTask WaitAsync() => _signal.WaitAsync();

    /// <summary>Wakes the writer without work, e.g. to notice shutdown.</summary>
    public void Wake() => _signal.Set();
}
