using System.Text;
using Polymur.Gateway.Parsing;
using Polymur.Gateway.Primitives;
using Polymur.Gateway.Routing;

namespace Polymur.Gateway.Ingest;

/// <summary>Lines ready to route: the pooled buffer, its length, what the parse counted, and the router's index.</summary>
internal readonly record struct ParsedLines(byte[] Lines, int Length, ParseCounts Counts, LineIndex Index)
{
    /// <summary>A batch over -max-batch-size once prefixed.</summary>
    public bool Overflowed => Length < 0;

    /// <summary>Gives the buffers back when the lines will not be dispatched.</summary>
    public void ReturnTo(BufferPool buffers)
    {
        Index.ReturnTo(buffers);
        buffers.Return(Lines);
    }
}

/// <summary>
/// Validates and compacts (or prefixes) a batch's lines in one pass that also fills the router's line index when
/// it wants one and keeps the first rejected line. Both listeners use it, so a line means the same on either.
/// </summary>
internal sealed class BatchParser(BufferPool buffers, BatchDispatcher dispatcher, IngestOptions options)
{
    /// <summary>A gunzipped batch; its buffer is consumed (compacted in place, or returned once prefixed).</summary>
    public ParsedLines Parse(in DecodedBatch decoded, string keyName, ref RejectedLine rejected)
    {
        if (!options.KeyPrefix)
            return Compact(decoded.Buffer, decoded.Length, ref rejected);
        var parsed = Prefix(decoded.Buffer.AsSpan(0, decoded.Length), keyName, buffers.Rent(PrefixedRoom(decoded.Length)), ref rejected);
        decoded.ReturnBuffer();
        return parsed;
    }

    /// <summary>
    /// Lines read off a socket, copied into a buffer rented within -max-batch-memory, so the caller keeps
    /// <paramref name="input"/> and can parse it again if the queues refuse it. False when there is no room.
    /// </summary>
    public bool TryParseCopy(ReadOnlySpan<byte> input, string keyName, ref RejectedLine rejected, out ParsedLines parsed)
    {
        int room = options.KeyPrefix ? PrefixedRoom(input.Length) : input.Length + 1;
        if (!buffers.TryRent(room, options.MaxBatchMemory, out var lines))
        {
            parsed = default;
            return false;
        }
        if (options.KeyPrefix)
        {
            parsed = Prefix(input, keyName, lines, ref rejected);
            return true;
        }
        input.CopyTo(lines);
        parsed = Compact(lines, input.Length, ref rejected);
        return true;
    }

    // A first guess at the prefixed size; CopyWithPrefix grows the buffer when short lines make it more.
    private static int PrefixedRoom(int length) => length + length / 4 + 64;

    private ParsedLines Compact(byte[] lines, int length, ref RejectedLine rejected)
    {
        byte[]? entries = RentIndex(length);
        var counts = LineSplitter.CompactInPlace(lines, length, options.MaxLineLength, LineIndex.Writable(entries), ref rejected, out int written, out int indexed);
        return new ParsedLines(lines, written, counts, new LineIndex(entries, indexed));
    }

    private ParsedLines Prefix(ReadOnlySpan<byte> input, string keyName, byte[] lines, ref RejectedLine rejected)
    {
        byte[]? entries = RentIndex(input.Length);
        Span<byte> prefix = stackalloc byte[Encoding.UTF8.GetMaxByteCount(keyName.Length)];
        prefix = prefix[..Encoding.UTF8.GetBytes(keyName, prefix)];
        var counts = LineSplitter.CopyWithPrefix(input, prefix, options.MaxLineLength, options.MaxBatchSize, buffers, ref lines, LineIndex.Writable(entries), ref rejected, out int written, out int indexed);
        return new ParsedLines(lines, written, counts, new LineIndex(entries, indexed));
    }

    // Room for one entry per 24 bytes, a typical line's length; a batch of shorter lines fills it and the
    // router scans the rest itself. No index when it is not wanted, when a line could be too long for an
    // entry, or when -max-batch-memory has no room for it.
    private byte[]? RentIndex(int inputLength)
    {
        if (!dispatcher.WantsLineIndex || options.MaxLineLength > LineIndex.MaxLineLength || inputLength == 0)
            return null;
        int entries = Math.Min(inputLength / 24 + 64, 1 << 16);
        return buffers.TryRent(LineIndex.BytesFor(entries), options.MaxBatchMemory, out var buffer) ? buffer : null;
    }
}
