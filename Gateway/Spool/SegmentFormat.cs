using System.Buffers.Binary;
using System.Numerics;

namespace Polymur.Gateway.Spool;

/// <summary>
/// The layout of a spool segment file. A file starts with a 16-byte header: the magic <c>PGWSPOOL</c>, a
/// format version (u16) and six zero bytes. Records follow, each a 28-byte frame header then its payload:
/// <code>
/// u32 marker 'PGWR' | u32 payload length | u32 raw length | u32 points | i64 created (Unix ms) | u32 CRC-32C | payload
/// </code>
/// All little-endian. The CRC covers the four fields after the marker and the payload, so a flipped bit anywhere
/// is caught; the marker lets a reader find the next record after a corrupt length. The payload is the lines,
/// LF-terminated, compressed with Brotli.
/// </summary>
internal static class SegmentFormat
{
    public const int Version = 1;
    public const int FileHeaderLength = 16;
    public const int RecordHeaderLength = 28;
    public const uint RecordMarker = 0x52574750; // "PGWR"
    public const string Extension = ".spool";

    public static ReadOnlySpan<byte> Magic => "PGWSPOOL"u8;

    public static void WriteFileHeader(Span<byte> destination)
    {
        destination[..FileHeaderLength].Clear();
        Magic.CopyTo(destination);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[8..], Version);
    }

    /// <summary>The file's format version, or null when the header is not a spool header at all.</summary>
    public static int? ReadVersion(ReadOnlySpan<byte> header) =>
        header.Length >= FileHeaderLength && header.StartsWith(Magic) ? BinaryPrimitives.ReadUInt16LittleEndian(header[8..]) : null;

    public static void WriteRecordHeader(Span<byte> destination, in RecordHeader record, ReadOnlySpan<byte> payload)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, RecordMarker);
        BinaryPrimitives.WriteInt32LittleEndian(destination[4..], record.PayloadLength);
        BinaryPrimitives.WriteInt32LittleEndian(destination[8..], record.RawLength);
        BinaryPrimitives.WriteInt32LittleEndian(destination[12..], record.Points);
        BinaryPrimitives.WriteInt64LittleEndian(destination[16..], record.CreatedUnixMs);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[24..], Checksum(destination[4..24], payload));
    }

    public static RecordHeader ReadRecordHeader(ReadOnlySpan<byte> source) => new(
        BinaryPrimitives.ReadInt32LittleEndian(source[4..]),
        BinaryPrimitives.ReadInt32LittleEndian(source[8..]),
        BinaryPrimitives.ReadInt32LittleEndian(source[12..]),
        BinaryPrimitives.ReadInt64LittleEndian(source[16..]));

    public static bool HasMarker(ReadOnlySpan<byte> source) =>
        source.Length >= 4 && BinaryPrimitives.ReadUInt32LittleEndian(source) == RecordMarker;

    public static bool ChecksumMatches(ReadOnlySpan<byte> header, ReadOnlySpan<byte> payload) =>
        BinaryPrimitives.ReadUInt32LittleEndian(header[24..]) == Checksum(header[4..24], payload);

    /// <summary>CRC-32C (Castagnoli) of the header fields then the payload, with the CPU's CRC instruction where it has one.</summary>
    public static uint Checksum(ReadOnlySpan<byte> fields, ReadOnlySpan<byte> payload) => ~Crc(Crc(uint.MaxValue, fields), payload);

    /// <summary>The CRC of a record read in pieces: start with the header fields, add each piece, end.</summary>
    public static uint CrcStart(ReadOnlySpan<byte> fields) => Crc(uint.MaxValue, fields);

    public static uint CrcMore(uint crc, ReadOnlySpan<byte> piece) => Crc(crc, piece);

    public static uint CrcEnd(uint crc) => ~crc;

    private static uint Crc(uint crc, ReadOnlySpan<byte> data)
    {
        while (data.Length >= 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }
        foreach (byte b in data)
            crc = BitOperations.Crc32C(crc, b);
        return crc;
    }
}

/// <summary>One record's frame: the compressed and raw sizes of its lines, how many lines, and when it was written.</summary>
internal readonly record struct RecordHeader(int PayloadLength, int RawLength, int Points, long CreatedUnixMs);
