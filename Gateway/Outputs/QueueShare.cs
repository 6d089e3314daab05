namespace Polymur.Gateway.Outputs;

/// <summary>
/// What one tenant holds in one destination's queue: the points it has queued or being written, the buffer bytes
/// its queued batches pin, and how many of its requests wait for room there. Only <see cref="DestinationQueue"/>
/// changes it, with interlocked adds; the figures are read without a lock, as hints for the fair share.
/// </summary>
internal sealed class QueueShare
{
    /// <summary>Points held plus requests waiting: above zero while the tenant is active on the queue.</summary>
    internal long Held;

    internal long Waiting;

    internal long Bytes;

    /// <summary>Points queued or being written (what is held, less the waiters).</summary>
    public long Points => Volatile.Read(ref Held) - Volatile.Read(ref Waiting);

    public bool Active => Volatile.Read(ref Held) > 0;
}
