using System.Buffers;
using System.IO.Compression;

namespace Polymur.Gateway.Spool;

/// <summary>
/// Appends records to one segment file. Each record is compressed and framed in memory (<see cref="Frame"/>,
/// which needs no lock), then written with one call, so a crash leaves at most one torn record at the tail,
/// which <see cref="SegmentReader"/> cuts off. Not thread-safe: one destination's spool owns it.
/// </summary>
internal sealed class SegmentWriter : IDisposable
{
    // Quality 1 is Brotli's cheapest setting that stays under 9 bytes per point on metric lines (quality 0: 12.5).
    // A 64 KiB window, not a larger one: on a 96 KB record (a third of a 5000-line batch) it compressed in
    // 150-190 ns per line instead of 240, for 8.8 bytes per line instead of 8.4.
    private const int Quality = 1, Window = 16;

    private readonly FileStream _file;

    private SegmentWriter(FileStream file) => _file = file;

    public string Path => _file.Name;

    /// <summary>
    /// Creates a new, empty segment (its header written and flushed to disk); fails if the file exists. When the
    /// header cannot be written (ENOSPC), the file is removed again: no empty segment is left behind.
    /// </summary>
    public static SegmentWriter Create(string path)
    {
        var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read, bufferSize: 0);
        try
        {
            Span<byte> header = stackalloc byte[SegmentFormat.FileHeaderLength];
            SegmentFormat.WriteFileHeader(header);
            file.Write(header);
            file.Flush(flushToDisk: true);
            return new SegmentWriter(file);
        }
        catch
        {
            file.Dispose();
            try
            {
                File.Delete(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
            throw;
        }
    }

    /// <summary>The worst-case frame of <paramref name="rawLength"/> bytes of lines.</summary>
    public static int MaxFrameLength(int rawLength) => SegmentFormat.RecordHeaderLength + BrotliEncoder.GetMaxCompressedLength(rawLength);

    /// <summary>
    /// Compresses and frames the lines (each ending in LF) into a buffer rented from the shared array pool (the
    /// caller returns it); returns the frame's length. Thread-safe: this is the costly part, done outside any lock.
    /// </summary>
    public static int Frame(ReadOnlySpan<byte> lines, int points, long createdUnixMs, out byte[] frame)
    {
        frame = ArrayPool<byte>.Shared.Rent(MaxFrameLength(lines.Length));
        if (!BrotliEncoder.TryCompress(lines, frame.AsSpan(SegmentFormat.RecordHeaderLength), out int compressed, Quality, Window))
        {
            ArrayPool<byte>.Shared.Return(frame);
            throw new InvalidOperationException("Brotli could not compress into its own maximum length");
        }
        var payload = frame.AsSpan(SegmentFormat.RecordHeaderLength, compressed);
        SegmentFormat.WriteRecordHeader(frame, new RecordHeader(compressed, lines.Length, points, createdUnixMs), payload);
        return SegmentFormat.RecordHeaderLength + compressed;
    }

    /// <summary>Appends the lines as one record; returns the bytes written. (Frame, then Write.)</summary>
    public int Append(ReadOnlySpan<byte> lines, int points, long createdUnixMs)
    {
        int length = Frame(lines, points, createdUnixMs, out var frame);
        try
        {
            Write(frame.AsSpan(0, length));
            return length;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(frame);
        }
    }

    /// <summary>Writes one framed record at the end of the file.</summary>
    public void Write(ReadOnlySpan<byte> frame) => _file.Write(frame);

    /// <summary>Cuts the file back to <paramref name="length"/>: a frame that was written in part is taken away.</summary>
    public void Truncate(long length) => _file.SetLength(length);

    /// <summary>fsync: what was appended survives a power cut.</summary>
    public void FlushToDisk() => _file.Flush(flushToDisk: true);

    public void Dispose()
    {
        try
        {
            _file.Dispose();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Nothing is buffered (bufferSize 0): close cannot lose data, and what fsync said was seen already.
        }
    }
}
