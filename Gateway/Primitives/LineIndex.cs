using System.Runtime.InteropServices;

namespace Polymur.Gateway.Primitives;

/// <summary>
/// What the parser learned about each valid line of a batch, in order: the line's length with its LF and its
/// path's length, packed in one <see cref="uint"/>. A router cuts lines and hashes paths from it without
/// searching the bytes again. The entries live in a pooled buffer, counted against -max-batch-memory.
/// </summary>
public readonly struct LineIndex(byte[]? buffer, int count)
{
    /// <summary>The longest line (without its LF) an entry can describe.</summary>
    public const int MaxLineLength = ushort.MaxValue - 1;

    /// <summary>Bytes of buffer for <paramref name="entries"/> entries.</summary>
    public static int BytesFor(int entries) => entries * sizeof(uint);

    /// <summary>How many lines are indexed; 0 when no index was built.</summary>
    public int Count => buffer is null ? 0 : count;

    public ReadOnlySpan<uint> Entries => buffer is null ? default : MemoryMarshal.Cast<byte, uint>(buffer.AsSpan())[..count];

    /// <summary>Whether the index covers every one of <paramref name="points"/> lines, so it can replace a scan.</summary>
    public bool Covers(int points) => buffer is not null && count == points;

    public static uint Pack(int lineLength, int pathLength) => (uint)lineLength << 16 | (uint)pathLength;

    public static int LineLength(uint entry) => (int)(entry >> 16);

    public static int PathLength(uint entry) => (int)(entry & 0xFFFF);

    /// <summary>The entries to fill, over a buffer rented for the purpose.</summary>
    public static Span<uint> Writable(byte[]? buffer) => buffer is null ? default : MemoryMarshal.Cast<byte, uint>(buffer.AsSpan());

    public void ReturnTo(BufferPool buffers)
    {
        if (buffer is not null)
            buffers.Return(buffer);
    }
}
