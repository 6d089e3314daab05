namespace Polymur.Gateway.Outputs;

/// <summary>
/// -incoming-queue-cap: how many accepted batches may be held at once (queued or being written to any
/// destination). This bounds the gateway's buffer memory; past it, new batches are refused with 503.
/// </summary>
public sealed class InflightBatches(int capacity)
{
    private int _count;

    public int Capacity => capacity;

    public int Count => Volatile.Read(ref _count);

    public bool TryAcquire()
    {
        if (Interlocked.Increment(ref _count) <= capacity)
            return true;
        Interlocked.Decrement(ref _count);
        return false;
    }

    public void Release()
    {
        Interlocked.Decrement(ref _count);
        Space.Notify();
    }

    /// <summary>Signalled whenever a slot is freed.</summary>
    internal SpaceSignal Space { get; } = new();
}
