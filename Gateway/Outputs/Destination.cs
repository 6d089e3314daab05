using Polymur.Gateway.Spool;
using Polymur.Gateway.Primitives;

namespace Polymur.Gateway.Outputs;

/// <summary>A downstream daemon: its queue, its counters, and the writer that empties the queue.</summary>
public sealed class Destination
{
    internal Destination(string name, int queueCapacityPoints, long queueCapacityBytes = long.MaxValue)
    {
        Name = name;
        Queue = new DestinationQueue(queueCapacityPoints, queueCapacityBytes);
    }

    /// <summary>As configured: host:port[:instance], or "console".</summary>
    public string Name { get; }

    public DestinationCounters Counters { get; } = new();

    /// <summary>Connected over TLS (tls://).</summary>
    public bool Tls { get; init; }

    public bool Connected { get; internal set; }

    private volatile bool _down;

    /// <summary>
    /// True after a connect attempt failed or the connection was lost (or the writer declared it dead), until it
    /// connects again; a new destination is not down. Requests wait for room only on destinations that are not
    /// down. Each time it is set (the writer sets it at every failed attempt), requests waiting for this
    /// destination's queue are woken, so that they stop waiting for it, and with a spool what sits in its queue
    /// moves to the spool: a down destination's part never waits in memory, where SIGKILL would lose it.
    /// </summary>
    public bool Down
    {
        get => _down;
        internal set
        {
            _down = value;
            if (!value)
                return;
            Queue.Space.Notify();
            SpoolQueued();
        }
    }

    /// <summary>False once its writer's loop has ended: while started, a destination whose writer is not running fails /healthz.</summary>
    public bool WriterRunning { get; internal set; }

    public long QueuedPoints => Queue.Points;

    internal DestinationQueue Queue { get; }

    /// <summary>Where its part of a batch goes when it is down or its queue is full (-spool-dir); null without a spool.</summary>
    internal DestinationSpool? Spool { get; init; }

    private volatile bool _closed;

    /// <summary>Refuses every later offer; used once the destination has been removed.</summary>
    internal void Close() => _closed = true;

    /// <summary>Has a spool that takes parts (not removed): while down, its parts go there at once.</summary>
    internal bool CanSpool => Spool is not null && !_closed;

    /// <summary>
    /// Hands a batch to this destination: retained and queued; spooled when the queue is full; or counted as
    /// dropped when there is no room in either.
    /// </summary>
    public bool Offer(Batch batch)
    {
        if (Queue.TryReserve(batch))
            return Commit(batch);
        return TrySpool(batch) == SpoolAppend.Appended
            || Drop(batch, _closed ? DropReason.DestinationRemoved : Spool is null ? DropReason.QueueFull : DropReason.SpoolFull);
    }

    /// <summary>
    /// Writes the batch to the spool instead of the queue. Without a spool, or once removed, <see cref="SpoolAppend.Failed"/>;
    /// a refusal is not counted here (the caller refuses the batch, or drops it and counts that).
    /// </summary>
    internal SpoolAppend TrySpool(Batch batch)
    {
        if (Spool is null || _closed)
            return SpoolAppend.Failed;
        var result = Spool.TryAppend(batch.Data, batch.Points);
        if (result == SpoolAppend.Appended)
        {
            Counters.AddRouted(batch.Points);
            Counters.AddSpooled(batch.Points);
        }
        return result;
    }

    /// <summary>Queues a batch whose room was reserved with <c>Queue.TryReserve</c>.</summary>
    internal bool Commit(Batch batch)
    {
        if (_closed)
        {
            // A request that read the routing table just before this destination was removed.
            Queue.Unreserve(batch);
            return Drop(batch, DropReason.DestinationRemoved);
        }
        Counters.AddRouted(batch.Points);
        batch.Retain(1);
        Queue.EnqueueReserved(batch);
        // It went down between the reservation and now, after its writer moved the queue to the spool.
        if (_down)
            SpoolQueued();
        return true;
    }

    /// <summary>
    /// Moves what waits in the queue to the spool, oldest first, until the spool refuses (what it refused stays
    /// queued, answered 200 already: delivered once the destination is back, or spooled or counted at the stop).
    /// Safe beside the writer: each batch is taken out of the queue by one of them only.
    /// </summary>
    internal void SpoolQueued()
    {
        if (Spool is null || _closed)
            return;
        while (Queue.TryDequeue(out var batch))
        {
            if (Spool.TryAppend(batch.Data, batch.Points) != SpoolAppend.Appended)
            {
                Queue.Requeue(batch);
                return;
            }
            Counters.AddSpooled(batch.Points);
            Queue.Complete(batch, batch.Points);
            batch.Release();
        }
    }

    /// <summary>The batch's spool could not take it and its sender is answered 503: counted, never routed.</summary>
    internal void Refused(Batch batch) => Counters.AddRefused(batch.Points);

    private bool Drop(Batch batch, DropReason reason)
    {
        Counters.AddRouted(batch.Points);
        Counters.AddDropped(reason, batch.Points);
        return false;
    }
}
