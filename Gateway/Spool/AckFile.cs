using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;

namespace Polymur.Gateway.Spool;

/// <summary>
/// How far a segment has been delivered, kept beside it as <c>&lt;sequence&gt;.acked</c> so that a restart (after
/// SIGTERM or SIGKILL) replays from there and not from the segment's start. 28 bytes, rewritten in place with one
/// pwrite as acknowledgements advance: the magic <c>PGWACK01</c>, the offset in the segment where the records not yet
/// delivered begin (every record before it was), a fingerprint of the segment's first record (so an ack file
/// left from an older segment of the same number is never believed), and a CRC-32C of the 24 bytes before it.
/// Not fsynced: the page cache survives a crash of the process, and after a power cut the worst is a replay of
/// what was delivered since (duplicates, never a loss). An offset, not a count of records: a record found
/// damaged at the next start does not shift what the number means.
/// </summary>
internal sealed class AckFile : IDisposable
{
    public const string Extension = ".acked";
    public const int Length = 28;

    private readonly SafeFileHandle _handle;

    private AckFile(SafeFileHandle handle) => _handle = handle;

    public static string PathFor(string segmentPath) => System.IO.Path.ChangeExtension(segmentPath, Extension);

    /// <summary>Opens (creating) the ack file of a segment; throws IOException or UnauthorizedAccessException when it cannot.</summary>
    public static AckFile Open(string segmentPath) =>
        new(File.OpenHandle(PathFor(segmentPath), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete));

    /// <summary>Records that everything before <paramref name="offset"/> was delivered.</summary>
    public void Write(long offset, long fingerprint)
    {
        Span<byte> bytes = stackalloc byte[Length];
        Encode(bytes, offset, fingerprint);
        RandomAccess.Write(_handle, bytes, 0);
    }

    public static void Encode(Span<byte> bytes, long offset, long fingerprint)
    {
        "PGWACK01"u8.CopyTo(bytes);
        BinaryPrimitives.WriteInt64LittleEndian(bytes[8..], offset);
        BinaryPrimitives.WriteInt64LittleEndian(bytes[16..], fingerprint);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[24..], SegmentFormat.CrcEnd(SegmentFormat.CrcStart(bytes[..24])));
    }

    /// <summary>
    /// The delivered offset an ack file holds for a segment whose first record has <paramref name="fingerprint"/>;
    /// null when it is missing, garbled, of another segment, or cannot be read (the segment then replays whole).
    /// </summary>
    public static long? Read(string segmentPath, long fingerprint)
    {
        using var handle = SpoolFiles.OpenRegular(PathFor(segmentPath), out var facts, out _);
        if (handle is null || facts.Size != Length)
            return null;
        Span<byte> bytes = stackalloc byte[Length];
        try
        {
            if (RandomAccess.Read(handle, bytes, 0) != Length)
                return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        if (!bytes.StartsWith("PGWACK01"u8) || BinaryPrimitives.ReadUInt32LittleEndian(bytes[24..]) != SegmentFormat.CrcEnd(SegmentFormat.CrcStart(bytes[..24])))
            return null;
        long offset = BinaryPrimitives.ReadInt64LittleEndian(bytes[8..]);
        return BinaryPrimitives.ReadInt64LittleEndian(bytes[16..]) == fingerprint && offset >= 0 ? offset : null;
    }

    /// <summary>What identifies a segment's first record: when it was written, its sizes and points.</summary>
    public static long Fingerprint(in RecordHeader first) =>
        first.CreatedUnixMs ^ ((long)first.PayloadLength << 42) ^ ((long)first.RawLength << 21) ^ first.Points;

    public void Dispose() => _handle.Dispose();
}
