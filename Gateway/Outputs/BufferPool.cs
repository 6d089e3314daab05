using System.Numerics;

namespace Polymur.Gateway.Outputs;

/// <summary>
/// Where batch buffers come from: power-of-two classes from 4 KiB to 16 MiB (5000 lines are about 300 KB),
/// reused through a fixed array of slots per class. Unlike <c>ArrayPool.Shared</c>, nothing is parked per
/// thread, and what the pool keeps is capped in bytes; a soak showed the shared pool's per-thread copies
/// adding 512 KiB steps to RSS for minutes after warm-up. Larger buffers (a batch near -max-batch-size) are
/// allocated to the exact size and left to the GC. Lock-free: two interlocked operations per rent or return.
/// </summary>
public sealed class BufferPool(long maxRetainedBytes = BufferPool.DefaultMaxRetainedBytes)
{
    public const int MaxPooled = 1 << MaxShift;
    public const long DefaultMaxRetainedBytes = 64L << 20;
    private const int MinShift = 12, MaxShift = 24, SlotsPerClass = 64;

    private readonly byte[]?[][] _classes = Enumerable.Range(0, MaxShift - MinShift + 1).Select(_ => new byte[]?[SlotsPerClass]).ToArray();
    private long _retained;
    private long _allocated;

    /// <summary>Bytes held for reuse right now; never more than the cap.</summary>
    public long RetainedBytes => Interlocked.Read(ref _retained);

    public long MaxRetainedBytes => maxRetainedBytes;

    /// <summary>Buffers the pool had to allocate: flat once the gateway has seen its peak concurrency.</summary>
    public long Allocations => Interlocked.Read(ref _allocated);

    public byte[] Rent(int minimumLength)
    {
        if (minimumLength > MaxPooled)
        {
            Interlocked.Increment(ref _allocated);
            return GC.AllocateUninitializedArray<byte>(minimumLength);
        }
        int shift = minimumLength <= 1 << MinShift ? MinShift : BitOperations.Log2((uint)minimumLength - 1) + 1;
        var slots = _classes[shift - MinShift];
        for (int i = 0; i < slots.Length; i++)
        {
            if (Volatile.Read(ref slots[i]) is not null && Interlocked.Exchange(ref slots[i], null) is { } buffer)
            {
                Interlocked.Add(ref _retained, -buffer.Length);
                return buffer;
            }
        }
        Interlocked.Increment(ref _allocated);
        return GC.AllocateUninitializedArray<byte>(1 << shift);
    }

    /// <summary>Takes a buffer back; one of a size the pool does not make, or one past the cap, goes to the GC.</summary>
    public void Return(byte[] buffer)
    {
        int length = buffer.Length;
        if (length < 1 << MinShift || length > MaxPooled || !BitOperations.IsPow2(length))
            return;
        if (Interlocked.Add(ref _retained, length) > maxRetainedBytes)
        {
            Interlocked.Add(ref _retained, -length);
            return;
        }
        var slots = _classes[BitOperations.Log2((uint)length) - MinShift];
        for (int i = 0; i < slots.Length; i++)
        {
            if (Volatile.Read(ref slots[i]) is null && Interlocked.CompareExchange(ref slots[i], buffer, null) is null)
                return;
        }
        Interlocked.Add(ref _retained, -length);
    }
}
