namespace Polymur.Gateway.Outputs;

/// <summary>Why points meant for a destination did not reach it.</summary>
public enum DropReason
{
    /// <summary>The destination's queue was full (it is down or slower than the input).</summary>
    QueueFull,

    /// <summary>The drain timeout passed at shutdown with the points still queued.</summary>
    ShutdownTimeout,

    /// <summary>The destination was removed with points still queued.</summary>
    DestinationRemoved,
}

/// <summary>
/// One destination's point accounting: routed = delivered + dropped (by reason) + queued, where queued
/// covers points waiting in the queue and points being written.
/// </summary>
public sealed class DestinationCounters
{
    private long _routed, _delivered, _queueFull, _shutdownTimeout, _removed;

    public long Routed => Volatile.Read(ref _routed);

    public long Delivered => Volatile.Read(ref _delivered);

    public long Queued => Routed - Delivered - DroppedTotal;

    public long DroppedTotal => Dropped(DropReason.QueueFull) + Dropped(DropReason.ShutdownTimeout) + Dropped(DropReason.DestinationRemoved);

    public long Dropped(DropReason reason) => reason switch
    {
        DropReason.QueueFull => Volatile.Read(ref _queueFull),
        DropReason.ShutdownTimeout => Volatile.Read(ref _shutdownTimeout),
        _ => Volatile.Read(ref _removed),
    };

    internal void AddRouted(int points) => Interlocked.Add(ref _routed, points);

    internal void AddDelivered(long points) => Interlocked.Add(ref _delivered, points);

    internal void AddDropped(DropReason reason, long points)
    {
        switch (reason)
        {
            case DropReason.QueueFull:
                Interlocked.Add(ref _queueFull, points);
                break;
            case DropReason.ShutdownTimeout:
                Interlocked.Add(ref _shutdownTimeout, points);
                break;
            default:
                Interlocked.Add(ref _removed, points);
                break;
        }
    }
}
