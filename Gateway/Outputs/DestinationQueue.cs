using System.Collections.Concurrent;
using Polymur.Gateway.Primitives;

namespace Polymur.Gateway.Outputs;

/// <summary>
/// One destination's queue of batches, bounded in points and in the bytes of buffer its batches pin. Lock-free:
/// ConcurrentQueue is a lock-free segment queue, each bound is one interlocked add, and the writer is woken
/// through <see cref="AsyncSignal"/>.
/// </summary>
/// <remarks>
/// A batch is admitted while fewer than <c>capacity</c> points (and bytes) are queued, so the queue may pass either
/// capacity by at most one batch. Without that, the default cap (4096 points) would refuse every 5000-line batch a
/// real proxy sends. Bytes are the buffer's capacity, not the lines' length: a one-line batch pins a whole pooled
/// buffer (64 KiB out of the decoder), and counting lines let 4,095 of them hold 256 MiB (F7). The bytes are
/// counted until the writer takes the batch out; points until it is written.
/// </remarks>
internal sealed class DestinationQueue(int capacityPoints, long capacityBytes = long.MaxValue)
{
    private readonly ConcurrentQueue<Batch> _batches = new();
    private readonly AsyncSignal _signal = new();
    private long _points;
    private long _bytes;

    public int CapacityPoints => capacityPoints;

    public long CapacityBytes => capacityBytes;

    /// <summary>Points queued or being written.</summary>
    public long Points => Volatile.Read(ref _points);

    /// <summary>Buffer bytes pinned by the batches waiting in the queue.</summary>
    public long Bytes => Volatile.Read(ref _bytes);

    /// <summary>Whether a batch would be refused now (the reservation can still race; this is a hint for waiters).</summary>
    public bool IsFull => Points >= capacityPoints || Bytes >= capacityBytes;

    public bool IsEmpty => _batches.IsEmpty;

    /// <summary>Signalled whenever the writer frees room.</summary>
    public SpaceSignal Space { get; } = new();

    /// <summary>Claims room for <paramref name="batch"/>: its points and the buffer it pins.</summary>
    public bool TryReserve(Batch batch) => TryReserve(batch.Points, batch.Capacity);

    /// <summary>Claims room for a batch of <paramref name="points"/> pinning <paramref name="bytes"/>; false when either bound is reached.</summary>
    public bool TryReserve(int points, int bytes)
    {
        long after = Interlocked.Add(ref _points, points);
        if (after - points >= capacityPoints)
        {
            Interlocked.Add(ref _points, -points);
            return false;
        }
        long afterBytes = Interlocked.Add(ref _bytes, bytes);
        if (afterBytes - bytes < capacityBytes)
            return true;
        Interlocked.Add(ref _bytes, -bytes);
        Interlocked.Add(ref _points, -points);
        return false;
    }

    /// <summary>Gives back room claimed by <see cref="TryReserve(Batch)"/> that will not be used.</summary>
    public void Unreserve(Batch batch) => Unreserve(batch.Points, batch.Capacity);

    /// <summary>Gives back room claimed by <see cref="TryReserve(int, int)"/> that will not be used.</summary>
    public void Unreserve(int points, int bytes)
    {
        Interlocked.Add(ref _bytes, -bytes);
        Interlocked.Add(ref _points, -points);
        Space.Notify();
    }

    /// <summary>
    /// Queues a batch whose room was reserved with <see cref="TryReserve(Batch)"/> (the caller has already retained
    /// it for this queue); <see cref="TryDequeue"/> gives its bytes back.
    /// </summary>
    public void EnqueueReserved(Batch batch)
    {
        _batches.Enqueue(batch);
        _signal.Set();
    }

    /// <summary>Takes the oldest batch; its bytes leave the queue's count now, its points once <see cref="Complete"/> says so.</summary>
    public bool TryDequeue(out Batch batch)
    {
        if (!_batches.TryDequeue(out batch!))
            return false;
        Interlocked.Add(ref _bytes, -batch.Capacity);
        Space.Notify();
        return true;
    }

    /// <summary>Puts back, at the end, a batch taken out with <see cref="TryDequeue"/> that could not go elsewhere.</summary>
    public void Requeue(Batch batch)
    {
        Interlocked.Add(ref _bytes, batch.Capacity);
        _batches.Enqueue(batch);
        _signal.Set();
    }

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
