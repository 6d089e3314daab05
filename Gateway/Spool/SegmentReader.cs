using System.IO.Compression;

namespace Polymur.Gateway.Spool;

/// <summary>What a segment file held when it was read back.</summary>
internal enum SegmentState
{
    /// <summary>A spool segment of this version (some records may still have been skipped or cut).</summary>
    Readable,

    /// <summary>Zero length, or too short for a header: a crash right after the file was created.</summary>
    Empty,

    /// <summary>Not a spool segment: another program's file, or a header overwritten.</summary>
    NotASegment,

    /// <summary>Written by a newer gateway: left as it is, never guessed at.</summary>
    NewerVersion,
}

/// <summary>One valid record: where its frame starts in the file, and its header.</summary>
internal readonly record struct SegmentRecord(long Offset, RecordHeader Header);

/// <summary>
/// The result of reading a segment back: its valid records in order; how many bytes of corrupt data were
/// skipped (and in how many places); and where the valid data ends, past which a torn tail (a crash in the middle
/// of a write) begins.
/// </summary>
internal sealed record SegmentScan(SegmentState State, IReadOnlyList<SegmentRecord> Records, int CorruptRegions, long CorruptBytes, long ValidLength, long TornBytes)
{
    public long Points => Records.Sum(r => (long)r.Header.Points);
}

/// <summary>
/// Reads segments back, trusting nothing: every record's CRC is checked before its lines are used. A corrupt
/// record is skipped by searching for the next record marker whose record checks out; a record that runs past
/// the end of the file, with no valid record after it, is a torn tail.
/// </summary>
internal static class SegmentReader
{
    /// <param name="maxRawLength">The largest record accepted (a spool only holds batches up to -max-batch-size).</param>
    public static SegmentScan Scan(ReadOnlySpan<byte> file, int maxRawLength)
    {
        if (file.Length < SegmentFormat.FileHeaderLength)
            return new SegmentScan(IsHeaderPrefix(file) ? SegmentState.Empty : SegmentState.NotASegment, [], 0, 0, 0, file.Length);
        int? version = SegmentFormat.ReadVersion(file);
        if (version is null)
            return new SegmentScan(SegmentState.NotASegment, [], 0, 0, 0, 0);
        if (version > SegmentFormat.Version)
            return new SegmentScan(SegmentState.NewerVersion, [], 0, 0, 0, 0);

        var records = new List<SegmentRecord>();
        int regions = 0;
        long corruptBytes = 0;
        long offset = SegmentFormat.FileHeaderLength;
        while (offset < file.Length)
        {
            var verdict = Check(file, offset, maxRawLength, out var header);
            if (verdict == Verdict.Valid)
            {
                records.Add(new SegmentRecord(offset, header));
                offset += SegmentFormat.RecordHeaderLength + header.PayloadLength;
                continue;
            }
            long next = FindNextValid(file, offset + 1, maxRawLength);
            if (next < 0)
                return new SegmentScan(SegmentState.Readable, records, regions, corruptBytes, offset, file.Length - offset);
            regions++;
            corruptBytes += next - offset;
            offset = next;
        }
        return new SegmentScan(SegmentState.Readable, records, regions, corruptBytes, offset, 0);
    }

    // A crash while the header was being written leaves a prefix of it.
    private static bool IsHeaderPrefix(ReadOnlySpan<byte> file) =>
        file.Length <= SegmentFormat.Magic.Length ? SegmentFormat.Magic.StartsWith(file) : file.StartsWith(SegmentFormat.Magic);

    /// <summary>The lines of one record, decompressed; null if they do not decompress to the stated length.</summary>
    public static byte[]? ReadLines(ReadOnlySpan<byte> file, SegmentRecord record)
    {
        var lines = GC.AllocateUninitializedArray<byte>(record.Header.RawLength);
        return TryReadLines(file, record, lines) ? lines : null;
    }

    /// <summary>Decompresses one record's lines into the start of <paramref name="lines"/>; false unless they are exactly the stated length.</summary>
    public static bool TryReadLines(ReadOnlySpan<byte> file, SegmentRecord record, Span<byte> lines)
    {
        var payload = file.Slice((int)record.Offset + SegmentFormat.RecordHeaderLength, record.Header.PayloadLength);
        var into = lines[..record.Header.RawLength];
        return BrotliDecoder.TryDecompress(payload, into, out int written) && written == into.Length;
    }

    private enum Verdict
    {
        Valid,
        Invalid,
    }

    private static Verdict Check(ReadOnlySpan<byte> file, long offset, int maxRawLength, out RecordHeader header)
    {
        header = default;
        if (file.Length - offset < SegmentFormat.RecordHeaderLength)
            return Verdict.Invalid;
        var frame = file.Slice((int)offset, SegmentFormat.RecordHeaderLength);
        if (!SegmentFormat.HasMarker(frame))
            return Verdict.Invalid;
        header = SegmentFormat.ReadRecordHeader(frame);
        if (header.PayloadLength <= 0 || header.RawLength <= 0 || header.RawLength > maxRawLength || header.Points <= 0
            || header.PayloadLength > file.Length - offset - SegmentFormat.RecordHeaderLength)
            return Verdict.Invalid;
        var payload = file.Slice((int)offset + SegmentFormat.RecordHeaderLength, header.PayloadLength);
        return SegmentFormat.ChecksumMatches(frame, payload) ? Verdict.Valid : Verdict.Invalid;
    }

    // The next offset holding a record that checks out, or -1.
    private static long FindNextValid(ReadOnlySpan<byte> file, long from, int maxRawLength)
    {
        Span<byte> marker = stackalloc byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(marker, SegmentFormat.RecordMarker);
        while (from < file.Length)
        {
            int found = file[(int)from..].IndexOf(marker);
            if (found < 0)
                return -1;
            long candidate = from + found;
            if (Check(file, candidate, maxRawLength, out _) == Verdict.Valid)
                return candidate;
            from = candidate + 1;
        }
        return -1;
    }
}
