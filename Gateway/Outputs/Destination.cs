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

    public bool Connected { get; internal set; }

    public long QueuedPoints => Queue.Points;

    internal DestinationQueue Queue { get; }

    /// <summary>
    /// Hands a batch to this destination: retained and queued, or counted as dropped when the queue is full.
    /// </summary>
    public bool Offer(Batch batch)
    {
        Counters.AddRouted(batch.Points);
        batch.Retain(1);
        if (Queue.TryEnqueue(batch))
            return true;
        Counters.AddDropped(DropReason.QueueFull, batch.Points);
        batch.Release();
        return false;
    }
}
