using Microsoft.Win32.SafeHandles;

namespace Polymur.Gateway.Spool;

/// <summary>Where a segment's bytes are read from, a piece at a time: an open file, or bytes already in memory (tests, tools).</summary>
internal abstract class SegmentSource
{
    public abstract long Length { get; }

    /// <summary>Reads up to <paramref name="into"/>.Length bytes at <paramref name="offset"/>; fewer only at the end.</summary>
    public abstract int Read(long offset, Span<byte> into);

    /// <summary>Reads exactly <paramref name="into"/>.Length bytes, or returns false when the file ends first.</summary>
    public bool ReadExactly(long offset, Span<byte> into)
    {
        while (!into.IsEmpty)
        {
            int read = Read(offset, into);
            if (read <= 0)
                return false;
            offset += read;
            into = into[read..];
        }
        return true;
    }

    public static SegmentSource Of(byte[] bytes) => new Bytes(bytes);

    public static SegmentSource Of(SafeFileHandle handle, long length) => new File(handle, length);

    private sealed class Bytes(byte[] bytes) : SegmentSource
    {
        public override long Length => bytes.Length;

        public override int Read(long offset, Span<byte> into)
        {
            if (offset >= bytes.Length)
                return 0;
            int n = (int)Math.Min(into.Length, bytes.Length - offset);
            bytes.AsSpan((int)offset, n).CopyTo(into);
            return n;
        }
    }

    private sealed class File(SafeFileHandle handle, long length) : SegmentSource
    {
        public override long Length => length;

        public override int Read(long offset, Span<byte> into)
        {
            if (offset >= length)
                return 0;
            return RandomAccess.Read(handle, into[..(int)Math.Min(into.Length, length - offset)], offset);
        }
    }
}
