using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Polymur.Gateway.Primitives;

namespace Polymur.Gateway.Outputs;

/// <summary>
/// One destination's queue of batches, bounded in points and in the bytes of buffer its batches pin, and shared
/// fairly among the tenants that use it. Lock-free: ConcurrentQueue is a lock-free segment queue, each bound is
/// one interlocked add, each tenant's part a few more, and the writer is woken through <see cref="AsyncSignal"/>.
/// </summary>
/// <remarks>
/// A batch is admitted while fewer than <c>capacity</c> points (and bytes) are queued, so the queue may pass either
/// capacity by at most one batch. Without that, the default cap (4096 points) would refuse every 5000-line batch a
/// real proxy sends. Bytes are the buffer's capacity, not the lines' length: a one-line batch pins a whole pooled
/// buffer (64 KiB out of the decoder), and counting lines let 4,095 of them hold 256 MiB (F7). The bytes are
/// counted until the writer takes the batch out; points until it is written.
/// <para>
/// Fair share (F14): a flood must not take a slow destination from a polite tenant. A tenant (the batch's
/// <see cref="Batch.Share"/>; lines of no tenant count as one more) is active on the queue while it holds points
/// there or waits for room. When several are active, each may pin at most an equal part of the bytes
/// (capacity / active; a lone tenant has all of them), and the bytes stay bounded as before. The points cap is
/// passed by a tenant that, with the batch, holds no more points than the other active tenants' average: one
/// 50,000-line batch of a flood fills the 4096-point queue for as long as it takes to write, and a polite
/// tenant's small batches then still go in, up to as many points as the flood holds. So no tenant holds more than
/// the cap plus one batch, the bytes never pass their bound plus one batch, and a lone tenant is bounded exactly
/// as before.
/// </para>
/// </remarks>
internal sealed class DestinationQueue(int capacityPoints, long capacityBytes = long.MaxValue)
{
    private readonly ConcurrentQueue<Batch> _batches = new();
    private readonly AsyncSignal _signal = new();
    // Keyed weakly by the tenant's share: a tenant that leaves (past -tenant-grace) takes its entries with it.
    private readonly ConditionalWeakTable<InflightBatches, QueueShare> _shares = new();
    private readonly QueueShare _untenanted = new();
    private long _points;
    private long _bytes;
    private int _active;

    public int CapacityPoints => capacityPoints;

    public long CapacityBytes => capacityBytes;

    /// <summary>Points queued or being written.</summary>
    public long Points => Volatile.Read(ref _points);

    /// <summary>Buffer bytes pinned by the batches waiting in the queue.</summary>
    public long Bytes => Volatile.Read(ref _bytes);

    /// <summary>Tenants holding points here or waiting for room (a hint: it can lag a change by a moment).</summary>
    public int ActiveTenants => Math.Max(Volatile.Read(ref _active), 0);

    /// <summary>Whether a batch of no tenant would be refused now (the reservation can still race; a hint).</summary>
    public bool IsFull => !CanTake(_untenanted, 1);

    /// <summary>Whether <paramref name="batch"/> would be refused now (the reservation can still race; a hint for waiters).</summary>
    public bool IsFullFor(Batch batch) => !CanTake(ShareOf(batch), batch.Points);

    public bool IsEmpty => _batches.IsEmpty;

    /// <summary>Signalled whenever the writer frees room.</summary>
    public SpaceSignal Space { get; } = new();

    /// <summary>Points and bytes the tenant that sent <paramref name="batch"/> holds here.</summary>
    internal QueueShare ShareOf(Batch batch)
    {
        if (batch.Share is not { } tenant)
            return _untenanted;
        return _shares.TryGetValue(tenant, out var share) ? share : _shares.GetValue(tenant, static _ => new QueueShare());
    }

    /// <summary>Claims room for <paramref name="batch"/>: its points and the buffer it pins, within its tenant's share.</summary>
    public bool TryReserve(Batch batch) => TryReserve(ShareOf(batch), batch.Points, batch.Capacity);

    /// <summary>Claims room for a batch of no tenant of <paramref name="points"/> pinning <paramref name="bytes"/>; false when either bound is reached.</summary>
    public bool TryReserve(int points, int bytes) => TryReserve(_untenanted, points, bytes);

    private bool TryReserve(QueueShare share, int points, int bytes)
    {
        long after = Interlocked.Add(ref _points, points);
        if (after - points >= capacityPoints && !FitsUnderOthers(share, points, after - points))
        {
            Interlocked.Add(ref _points, -points);
            return false;
        }
        long afterBytes = Interlocked.Add(ref _bytes, bytes);
        if (afterBytes - bytes < capacityBytes && WithinByteShare(share))
        {
            Interlocked.Add(ref share.Bytes, bytes);
            Hold(share, points);
            return true;
        }
        Interlocked.Add(ref _bytes, -bytes);
        Interlocked.Add(ref _points, -points);
        return false;
    }

    private bool CanTake(QueueShare share, int points) =>
        Bytes < capacityBytes && WithinByteShare(share) && (Points < capacityPoints || FitsUnderOthers(share, points, Points));

    // The active tenants, counting this one if it is not yet.
    private int ActiveWith(QueueShare share) => Math.Max(ActiveTenants + (share.Active ? 0 : 1), 1);

    // With the batch, the tenant would still hold no more than the other active tenants' average: it may pass the
    // cap. Never more than the average, so no tenant climbs past another this way and none holds more than the
    // cap plus one batch; the one holding most gets in only below the cap, as a lone tenant does.
    private bool FitsUnderOthers(QueueShare share, int points, long total)
    {
        int others = ActiveWith(share) - 1;
        long mine = share.Points;
        return others > 0 && (mine + points) * others <= total - mine;
    }

    // Pins less than an equal part of the bytes; a lone tenant may pin them all. Read only once there is room.
    private bool WithinByteShare(QueueShare share)
    {
        long bytes = Volatile.Read(ref share.Bytes);
        return bytes == 0 || bytes < capacityBytes / ActiveWith(share);
    }

    // Counts a tenant in (out of) the active ones as what it holds rises from (falls to) zero.
    private void Hold(QueueShare share, long delta)
    {
        long after = Interlocked.Add(ref share.Held, delta);
        long before = after - delta;
        if (before == 0 && after > 0)
            Interlocked.Increment(ref _active);
        else if (before > 0 && after == 0)
            Interlocked.Decrement(ref _active);
    }

    /// <summary>
    /// A request of <paramref name="batch"/>'s tenant waits for room here: the tenant counts as active, so the
    /// others' byte share makes room for it. Pair with <see cref="EndWait"/>.
    /// </summary>
    public void BeginWait(Batch batch)
    {
        var share = ShareOf(batch);
        Interlocked.Increment(ref share.Waiting);
        Hold(share, 1);
    }

    public void EndWait(Batch batch)
    {
        var share = ShareOf(batch);
        Hold(share, -1);
        Interlocked.Decrement(ref share.Waiting);
        if (!share.Active)
            Space.Notify(); // one tenant fewer: the others' share grew
    }

    /// <summary>Gives back room claimed by <see cref="TryReserve(Batch)"/> that will not be used.</summary>
    public void Unreserve(Batch batch) => Unreserve(ShareOf(batch), batch.Points, batch.Capacity);

    /// <summary>Gives back room claimed by <see cref="TryReserve(int, int)"/> that will not be used.</summary>
    public void Unreserve(int points, int bytes) => Unreserve(_untenanted, points, bytes);

    private void Unreserve(QueueShare share, int points, int bytes)
    {
        Interlocked.Add(ref share.Bytes, -bytes);
        Hold(share, -points);
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

    /// <summary>Takes the oldest batch; its bytes leave the queue's count now, its points once <see cref="Complete(Batch, long)"/> says so.</summary>
    public bool TryDequeue(out Batch batch)
    {
        if (!_batches.TryDequeue(out batch!))
            return false;
        Interlocked.Add(ref ShareOf(batch).Bytes, -batch.Capacity);
        Interlocked.Add(ref _bytes, -batch.Capacity);
        Space.Notify();
        return true;
    }

    /// <summary>Puts back, at the end, a batch taken out with <see cref="TryDequeue"/> that could not go elsewhere.</summary>
    public void Requeue(Batch batch)
    {
        Interlocked.Add(ref ShareOf(batch).Bytes, batch.Capacity);
        Interlocked.Add(ref _bytes, batch.Capacity);
        _batches.Enqueue(batch);
        _signal.Set();
    }

    /// <summary>The writer is done with these points of <paramref name="batch"/> (delivered, spooled or dropped).</summary>
    public void Complete(Batch batch, long points) => Complete(ShareOf(batch), points);

    /// <summary>The writer is done with these points of batches of no tenant.</summary>
    public void Complete(long points) => Complete(_untenanted, points);

    private void Complete(QueueShare share, long points)
    {
        Hold(share, -points);
        Interlocked.Add(ref _points, -points);
        Space.Notify();
    }

    public ValueTask WaitAsync() => _signal.WaitAsync();

    /// <summary>Wakes the writer without work, e.g. to notice shutdown.</summary>
    public void Wake() => _signal.Set();
}
