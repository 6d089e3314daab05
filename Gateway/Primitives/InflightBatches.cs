
namespace Polymur.Gateway.Primitives;

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

    /// <summary>
    /// Takes a slot, waiting (woken when one is freed, not by polling) for up to <paramref name="wait"/>,
    /// or for as long as it takes when null. False when the wait ran out.
    /// </summary>
    public async ValueTask<bool> AcquireAsync(TimeSpan? wait, CancellationToken cancel)
    {
        if (TryAcquire())
            return true;
        var deadline = wait is { } w ? DateTime.UtcNow + w : DateTime.MaxValue;
        while (true)
        {
            var freed = Space.Register();
            if (TryAcquire())
                return true;
            if (!await SpaceSignal.WaitAsync(freed, deadline, cancel))
                return false;
        }
    }

    public void Release()
    {
        Interlocked.Decrement(ref _count);
        Space.Notify();
    }

    /// <summary>Signalled whenever a slot is freed.</summary>
    internal SpaceSignal Space { get; } = new();
}
