using Polymur.Gateway.Spool;
using Polymur.Gateway.Primitives;

namespace Polymur.Gateway.Outputs;

/// <summary>A downstream daemon: its queue, its counters, and the writer that empties the queue.</summary>
public sealed class Destination
{
    internal Destination(string name, int queueCapacityPoints)
    {
        Name = name;
        Queue = new DestinationQueue(queueCapacityPoints);
    }

    /// <summary>As configured: host:port[:instance], or "console".</summary>
    public string Name { get; }

    public DestinationCounters Counters { get; } = new();

    /// <summary>Connected over TLS (tls://).</summary>
    public bool Tls { get; init; }

    public bool Connected { get; internal set; }

    /// <summary>
    /// True after a connect attempt failed or the connection was lost, until it connects again. Requests
    /// wait for room only on destinations that are not down; a new destination is not down.
    /// </summary>
    public bool Down { get; internal set; }

    /// <summary>False once its writer's loop has ended: while started, a destination whose writer is not running fails /healthz.</summary>
    public bool WriterRunning { get; internal set; }

    public long QueuedPoints => Queue.Points;

    internal DestinationQueue Queue { get; }

    /// <summary>Where its part of a batch goes when the queue is full (-spool-dir); null without a spool.</summary>
    internal DestinationSpool? Spool { get; init; }

    private volatile bool _closed;

    /// <summary>Refuses every later offer; used once the destination has been removed.</summary>
    internal void Close() => _closed = true;

    /// <summary>
    /// Hands a batch to this destination: retained and queued; spooled when the queue is full; or counted as
    /// dropped when there is no room in either.
    /// </summary>
    public bool Offer(Batch batch)
    {
        if (Queue.TryReserve(batch.Points))
            return Commit(batch);
        return TrySpool(batch) || Drop(batch, Spool is null ? DropReason.QueueFull : DropReason.SpoolFull);
    }

    /// <summary>Writes the batch to the spool instead of the queue; false without a spool, or when it is full.</summary>
    internal bool TrySpool(Batch batch)
    {
        if (Spool is null || _closed || Spool.TryAppend(batch.Data, batch.Points) != SpoolAppend.Appended)
            return false;
        Counters.AddRouted(batch.Points);
        Counters.AddSpooled(batch.Points);
        return true;
    }

    /// <summary>Queues a batch whose room was reserved with <c>Queue.TryReserve</c>.</summary>
    internal bool Commit(Batch batch)
    {
        if (_closed)
        {
            // A request that read the routing table just before this destination was removed.
            Queue.Unreserve(batch.Points);
            return Drop(batch, DropReason.DestinationRemoved);
        }
        Counters.AddRouted(batch.Points);
        batch.Retain(1);
        Queue.EnqueueReserved(batch);
        return true;
    }

    private bool Drop(Batch batch, DropReason reason)
    {
        Counters.AddRouted(batch.Points);
        Counters.AddDropped(reason, batch.Points);
        return false;
    }
}
