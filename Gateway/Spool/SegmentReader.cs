using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;

namespace Polymur.Gateway.Spool;

/// <summary>What a segment file held when it was read back.</summary>
internal enum SegmentState
{
    /// <summary>A spool segment of this version (some records may still have been skipped or cut).</summary>
    Readable,

    /// <summary>Zero length, or too short for a header: a crash right after the file was created.</summary>
    Empty,

    /// <summary>Not a spool segment: another program's file, or a header overwritten (a zero-filled file).</summary>
    NotASegment,

    /// <summary>Written by a newer gateway: left as it is, never guessed at.</summary>
    NewerVersion,
}

/// <summary>One valid record: where its frame starts in the file, and its header.</summary>
internal readonly record struct SegmentRecord(long Offset, RecordHeader Header)
{
    public long End => Offset + SegmentFormat.RecordHeaderLength + Header.PayloadLength;
}

/// <summary>
/// The result of reading a segment back: its valid records in order; how many bytes of corrupt data were
/// skipped (in how many places, and the points of damaged records whose frame could still be told); and where
/// the valid data ends, past which a torn tail (a crash in the middle of a write) begins.
/// </summary>
internal sealed record SegmentScan(SegmentState State, IReadOnlyList<SegmentRecord> Records, int CorruptRegions, long CorruptBytes, long ValidLength, long TornBytes, long CorruptPoints = 0)
{
    public long Points => Records.Sum(r => (long)r.Header.Points);
}

/// <summary>
/// Reads segments back, trusting nothing and in bounded pieces (<see cref="BufferBytes"/> twice, whatever the
/// file's size): every record's CRC is checked before its lines are used. A corrupt record is skipped by
/// searching for the next record marker whose record checks out; a record that runs past the end of the file,
/// with no valid record after it, is a torn tail.
/// </summary>
internal static class SegmentReader
{
    /// <summary>The read buffers of one scan or one record read: what reading back holds besides the lines.</summary>
    public const int BufferBytes = 64 << 10;

    public static SegmentScan Scan(byte[] file, int maxRawLength) => Scan(SegmentSource.Of(file), maxRawLength);

    /// <param name="maxRawLength">The largest record accepted (a spool only holds batches up to -max-batch-size).</param>
    public static SegmentScan Scan(SegmentSource file, int maxRawLength)
    {
        long length = file.Length;
        if (length < SegmentFormat.FileHeaderLength)
        {
            Span<byte> start = stackalloc byte[SegmentFormat.FileHeaderLength];
            int got = file.Read(0, start);
            return new SegmentScan(IsHeaderPrefix(start[..got]) ? SegmentState.Empty : SegmentState.NotASegment, [], 0, 0, 0, length);
        }
        Span<byte> header = stackalloc byte[SegmentFormat.FileHeaderLength];
        if (!file.ReadExactly(0, header))
            return new SegmentScan(SegmentState.Empty, [], 0, 0, 0, length);
        int? version = SegmentFormat.ReadVersion(header);
        if (version is null)
            return new SegmentScan(SegmentState.NotASegment, [], 0, 0, 0, 0);
        if (version > SegmentFormat.Version)
            return new SegmentScan(SegmentState.NewerVersion, [], 0, 0, 0, 0);

        var window = new Window(file);
        var search = ArrayPool<byte>.Shared.Rent(BufferBytes);
        try
        {
            var records = new List<SegmentRecord>();
            int regions = 0;
            long corruptBytes = 0, corruptPoints = 0;
            long offset = SegmentFormat.FileHeaderLength;
            while (offset < length)
            {
                var verdict = Check(window, offset, maxRawLength, out var record);
                if (verdict == Verdict.Valid)
                {
                    records.Add(new SegmentRecord(offset, record));
                    offset += SegmentFormat.RecordHeaderLength + record.PayloadLength;
                    continue;
                }
                long next = FindNextValid(window, search, offset + 1, maxRawLength);
                if (next < 0)
                    return new SegmentScan(SegmentState.Readable, records, regions, corruptBytes, offset, length - offset, corruptPoints);
                regions++;
                corruptBytes += next - offset;
                // Only the payload was hit when the frame still ends where the next record starts: its points are known.
                if (verdict == Verdict.BadChecksum && offset + SegmentFormat.RecordHeaderLength + record.PayloadLength == next)
                    corruptPoints += record.Points;
                offset = next;
            }
            return new SegmentScan(SegmentState.Readable, records, regions, corruptBytes, offset, 0, corruptPoints);
        }
        finally
        {
            window.Dispose();
            ArrayPool<byte>.Shared.Return(search);
        }
    }

    // A crash while the header was being written leaves a prefix of it.
    private static bool IsHeaderPrefix(ReadOnlySpan<byte> file) =>
        file.Length <= SegmentFormat.Magic.Length ? SegmentFormat.Magic.StartsWith(file) : file.StartsWith(SegmentFormat.Magic);

    /// <summary>The lines of one record, decompressed; null if they do not decompress to the stated length.</summary>
    public static byte[]? ReadLines(byte[] file, SegmentRecord record)
    {
        var lines = GC.AllocateUninitializedArray<byte>(record.Header.RawLength);
        return TryReadLines(SegmentSource.Of(file), record, lines) ? lines : null;
    }

    /// <summary>
    /// Reads one record's lines into the start of <paramref name="lines"/>, a piece at a time, checking its frame
    /// again on the way (the file may have changed since it was scanned): false unless the marker and header are
    /// as found, the CRC matches, and the lines are exactly the stated length.
    /// </summary>
    public static bool TryReadLines(SegmentSource file, SegmentRecord record, Span<byte> lines)
    {
        var piece = ArrayPool<byte>.Shared.Rent(BufferBytes);
        try
        {
            Span<byte> frame = stackalloc byte[SegmentFormat.RecordHeaderLength];
            if (!file.ReadExactly(record.Offset, frame) || !SegmentFormat.HasMarker(frame) || SegmentFormat.ReadRecordHeader(frame) != record.Header)
                return false;
            var into = lines[..record.Header.RawLength];
            using var decoder = new BrotliDecoder();
            uint crc = SegmentFormat.CrcStart(frame[4..24]);
            long at = record.Offset + SegmentFormat.RecordHeaderLength, left = record.Header.PayloadLength;
            int written = 0;
            var status = OperationStatus.NeedMoreData;
            while (left > 0)
            {
                var chunk = piece.AsSpan(0, (int)Math.Min(piece.Length, left));
                if (!file.ReadExactly(at, chunk))
                    return false;
                crc = SegmentFormat.CrcMore(crc, chunk);
                at += chunk.Length;
                left -= chunk.Length;
                while (!chunk.IsEmpty && status == OperationStatus.NeedMoreData)
                {
                    status = decoder.Decompress(chunk, into[written..], out int consumed, out int produced);
                    written += produced;
                    chunk = chunk[consumed..];
                    if (consumed == 0 && produced == 0)
                        break;
                }
                if (status is OperationStatus.InvalidData or OperationStatus.DestinationTooSmall)
                    return false;
            }
            return SegmentFormat.CrcEnd(crc) == BinaryPrimitives.ReadUInt32LittleEndian(frame[24..]) && status == OperationStatus.Done && written == into.Length;
        }
        catch (InvalidOperationException)
        {
            return false; // Brotli refusing a stream it cannot go on with
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(piece);
        }
    }

    private enum Verdict
    {
        Valid,
        Invalid,

        /// <summary>A frame that looks right but whose CRC does not match: its header fields may be true.</summary>
        BadChecksum,
    }

    private static Verdict Check(Window file, long offset, int maxRawLength, out RecordHeader header)
    {
        header = default;
        if (file.Length - offset < SegmentFormat.RecordHeaderLength)
            return Verdict.Invalid;
        var frame = file.Get(offset, SegmentFormat.RecordHeaderLength);
        if (frame.Length < SegmentFormat.RecordHeaderLength || !SegmentFormat.HasMarker(frame))
            return Verdict.Invalid;
        header = SegmentFormat.ReadRecordHeader(frame);
        if (header.PayloadLength <= 0 || header.RawLength <= 0 || header.RawLength > maxRawLength || header.Points <= 0 || header.Points > header.RawLength
            || header.PayloadLength > BrotliEncoder.GetMaxCompressedLength(header.RawLength)
            || header.PayloadLength > file.Length - offset - SegmentFormat.RecordHeaderLength)
            return Verdict.Invalid;
        uint expected = BinaryPrimitives.ReadUInt32LittleEndian(frame[24..]);
        uint crc = SegmentFormat.CrcStart(frame[4..24]);
        long at = offset + SegmentFormat.RecordHeaderLength, left = header.PayloadLength;
        while (left > 0)
        {
            var piece = file.Get(at, (int)Math.Min(BufferBytes, left));
            if (piece.IsEmpty)
                return Verdict.Invalid;
            crc = SegmentFormat.CrcMore(crc, piece);
            at += piece.Length;
            left -= piece.Length;
        }
        return SegmentFormat.CrcEnd(crc) == expected ? Verdict.Valid : Verdict.BadChecksum;
    }

    // The next offset holding a record that checks out, or -1. Reads the file in pieces of the search buffer.
    private static long FindNextValid(Window file, byte[] search, long from, int maxRawLength)
    {
        Span<byte> marker = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(marker, SegmentFormat.RecordMarker);
        while (from < file.Length)
        {
            int read = file.Source.Read(from, search);
            if (read < marker.Length)
                return -1;
            int found = search.AsSpan(0, read).IndexOf(marker);
            if (found < 0)
            {
                from += read - (marker.Length - 1); // a marker may straddle two pieces
                continue;
            }
            long candidate = from + found;
            if (Check(file, candidate, maxRawLength, out _) == Verdict.Valid)
                return candidate;
            from = candidate + 1;
        }
        return -1;
    }

    /// <summary>A window of the file kept in one buffer, so that reading headers and payloads in order reads each byte once.</summary>
    private sealed class Window(SegmentSource source) : IDisposable
    {
        private readonly byte[] _buffer = ArrayPool<byte>.Shared.Rent(BufferBytes);
        private long _start;
        private int _filled;

        public SegmentSource Source => source;

        public long Length => source.Length;

        /// <summary>Up to <paramref name="length"/> (at most <see cref="BufferBytes"/>) bytes at <paramref name="offset"/>; fewer at the end.</summary>
        public ReadOnlySpan<byte> Get(long offset, int length)
        {
            if (offset < _start || offset + length > _start + _filled)
            {
                _start = offset;
                _filled = 0;
                int read;
                while (_filled < _buffer.Length && (read = source.Read(offset + _filled, _buffer.AsSpan(_filled))) > 0)
                    _filled += read;
            }
            int from = (int)(offset - _start);
            return _buffer.AsSpan(from, Math.Min(length, _filled - from));
        }

        public void Dispose() => ArrayPool<byte>.Shared.Return(_buffer);
    }
}
