using Polymur.Gateway.Primitives;

namespace Polymur.Gateway.Ingest;

/// <summary>
/// At most N request bodies are inflated at once (-max-concurrent-decodes). Each may grow to -max-batch-size,
/// so this is what bounds the decode buffers' memory under many concurrent clients (gzip bombs included).
/// Inflating is CPU-bound, so more concurrency than a few per core would not add throughput anyway.
/// Lock-free: an interlocked count, and waiters are woken by the same signal the queues use.
/// </summary>
internal sealed class DecodeSlots(int capacity)
{
    private readonly InflightBatches _slots = new(capacity);

    public int Capacity => capacity;

    public async ValueTask EnterAsync(CancellationToken cancel) => await _slots.AcquireAsync(wait: null, cancel);

    public void Exit() => _slots.Release();
}
