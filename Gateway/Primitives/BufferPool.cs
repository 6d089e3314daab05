using System.Numerics;

namespace Polymur.Gateway.Primitives;

/// <summary>
/// Where batch buffers come from: power-of-two classes from 4 KiB to 16 MiB (5000 lines are about 300 KB),
/// reused through a fixed array of slots per class. Unlike <c>ArrayPool.Shared</c>, nothing is parked per
/// thread, and what the pool keeps is capped in bytes; a soak showed the shared pool's per-thread copies
/// adding 512 KiB steps to RSS for minutes after warm-up. Larger buffers (a batch near -max-batch-size) are
/// allocated to the exact size and left to the GC. It also counts the bytes rented out and not yet returned,
/// which is what -max-batch-memory limits (<see cref="TryRent"/>). Lock-free: a few interlocked operations
/// per rent or return.
/// </summary>
public sealed class BufferPool(long maxRetainedBytes = BufferPool.DefaultMaxRetainedBytes)
{
    public const int MaxPooled = 1 << MaxShift;
    public const long DefaultMaxRetainedBytes = 64L << 20;
    private const int MinShift = 12, MaxShift = 24, SlotsPerClass = 64;

    private readonly byte[]?[][] _classes = Enumerable.Range(0, MaxShift - MinShift + 1).Select(_ => new byte[]?[SlotsPerClass]).ToArray();
    private long _retained;
    private long _allocated;
    private long _inUse;

    /// <summary>Bytes held for reuse right now; never more than the cap.</summary>
    public long RetainedBytes => Interlocked.Read(ref _retained);

    public long MaxRetainedBytes => maxRetainedBytes;

    /// <summary>Buffers the pool had to allocate: flat once the gateway has seen its peak concurrency.</summary>
    public long Allocations => Interlocked.Read(ref _allocated);

    /// <summary>Bytes of buffers rented and not yet returned: the batches the gateway holds right now.</summary>
    public long InUseBytes => Interlocked.Read(ref _inUse);

    /// <summary>Signalled whenever a buffer comes back, for requests waiting for <see cref="InUseBytes"/> to drop.</summary>
    internal SpaceSignal Returned { get; } = new();

    /// <summary>The size a rent of <paramref name="minimumLength"/> hands out.</summary>
    public static int SizeFor(int minimumLength) =>
        minimumLength > MaxPooled ? minimumLength : 1 << ShiftFor(minimumLength);

    private static int ShiftFor(int minimumLength) =>
        minimumLength <= 1 << MinShift ? MinShift : BitOperations.Log2((uint)minimumLength - 1) + 1;

    public byte[] Rent(int minimumLength)
    {
        var buffer = Take(minimumLength);
        Interlocked.Add(ref _inUse, buffer.Length);
        return buffer;
    }

    /// <summary>Rents only if the bytes in use stay within <paramref name="limit"/> (reserved before taking, so racing renters cannot both pass).</summary>
    public bool TryRent(int minimumLength, long limit, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out byte[]? buffer)
    {
        buffer = TryReserve(SizeFor(minimumLength), limit) ? Take(minimumLength) : null;
        return buffer is not null;
    }

    /// <summary>
    /// Counts <paramref name="bytes"/> as rented if that keeps the bytes in use within <paramref name="limit"/>:
    /// for a buffer kept outside the pool (the decoder's exact-size large ones). Undo with <see cref="TrackReturned"/>.
    /// </summary>
    public bool TryReserve(long bytes, long limit)
    {
        if (Interlocked.Add(ref _inUse, bytes) <= limit)
            return true;
        Interlocked.Add(ref _inUse, -bytes);
        return false;
    }

    /// <summary>Counts a buffer as back without keeping it (the caller keeps it, or leaves it to the GC).</summary>
    public void TrackReturned(byte[] buffer)
    {
        Interlocked.Add(ref _inUse, -buffer.Length);
        Returned.Notify();
    }

    private byte[] Take(int minimumLength)
    {
        if (minimumLength > MaxPooled)
        {
            Interlocked.Increment(ref _allocated);
            return GC.AllocateUninitializedArray<byte>(minimumLength);
        }
        int shift = ShiftFor(minimumLength);
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

    /// <summary>
    /// Swaps <paramref name="buffer"/>, whose first <paramref name="used"/> bytes count, for one with room for
    /// <paramref name="needed"/> more: at least twice the size, so growing line by line stays linear. The old
    /// one comes back to the pool.
    /// </summary>
    public void Grow(ref byte[] buffer, int used, int needed)
    {
        var bigger = Rent((int)Math.Min(Math.Max(buffer.Length * 2L, (long)used + needed), Array.MaxLength));
        buffer.AsSpan(0, used).CopyTo(bigger);
        Return(buffer);
        buffer = bigger;
    }

    /// <summary>Takes a buffer back; one of a size the pool does not make, or one past the cap, goes to the GC.</summary>
    public void Return(byte[] buffer)
    {
        TrackReturned(buffer);
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
