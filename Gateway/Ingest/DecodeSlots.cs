using Polymur.Gateway.Primitives;

namespace Polymur.Gateway.Ingest;

/// <summary>
/// At most N request bodies are inflated at once (-max-concurrent-decodes). Each may grow to -max-batch-size,
/// so this is what bounds the decode buffers' memory under many concurrent clients (gzip bombs included).
/// Inflating is CPU-bound, so more concurrency than a few per core would not add throughput anyway.
/// A slot is taken only once the body has been read whole (<see cref="GzipBatchDecoder.ReadAsync"/>), so it
/// is held for CPU work, never while waiting on a client; and it is waited for up to -queue-wait, not forever.
/// Lock-free: an interlocked count, and waiters are woken by the same signal the queues use.
/// </summary>
internal sealed class DecodeSlots(int capacity)
{
    private readonly InflightBatches _slots = new(capacity);

    public int Capacity => capacity;

    /// <summary>Takes a slot, waiting up to <paramref name="wait"/>; false when none came free in time.</summary>
    public ValueTask<bool> EnterAsync(TimeSpan wait, CancellationToken cancel) => _slots.AcquireAsync(wait, cancel);

    public void Exit() => _slots.Release();
}
