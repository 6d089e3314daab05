using System.Buffers;

using Polymur.Gateway.Primitives;

namespace Polymur.Gateway.Parsing;

/// <summary>
/// Splits a gunzipped batch on LF (a vectorized search), validates each line, and writes the valid ones,
/// each with exactly one LF, to the output. Nothing is allocated per line.
/// </summary>
internal static class LineSplitter
{
    public static ParseCounts CompactInPlace(Span<byte> buffer, int length, int maxLineLength, out int outputLength)
    {
        var rejected = new RejectedLine([]);
        return CompactInPlace(buffer, length, maxLineLength, default, ref rejected, out outputLength, out _);
    }

    public static ParseCounts CopyWithPrefix(ReadOnlySpan<byte> input, ReadOnlySpan<byte> prefix, int maxLineLength, long maxOutputLength, BufferPool buffers, ref byte[] output, out int outputLength)
    {
        var rejected = new RejectedLine([]);
        return CopyWithPrefix(input, prefix, maxLineLength, maxOutputLength, buffers, ref output, default, ref rejected, out outputLength, out _);
    }

    /// <summary>
    /// Compacts the valid lines of <c>buffer[..length]</c> in place. The buffer needs one byte spare past
    /// <paramref name="length"/> for a final line that has no LF (kept whole: the last line of a body is a line too).
    /// When every line is already clean, nothing moves: the decompressed buffer is sent as it is.
    /// Each valid line's lengths go into <paramref name="index"/> while it has room (see <see cref="LineIndex"/>);
    /// <paramref name="indexed"/> says how many did. The first line not forwarded is kept in <paramref name="rejected"/>.
    /// </summary>
    public static ParseCounts CompactInPlace(Span<byte> buffer, int length, int maxLineLength, Span<uint> index, ref RejectedLine rejected, out int outputLength, out int indexed)
    {
        int read = 0, write = 0, valid = 0, invalid = 0, tooLong = 0;
        indexed = 0;
        while (read < length)
        {
            var rest = buffer[read..length];
            int lf = rest.IndexOf((byte)'\n');
            var line = lf < 0 ? rest : rest[..lf];
            int next = read + line.Length + 1;
            if (line.Length > maxLineLength)
            {
                tooLong++;
                rejected.Take(line, LineFault.TooLong);
            }
            else
            {
                // The window runs to the buffer's end, past the batch: the vector path may read ahead of a short last line.
                switch (GraphiteLine.Check(buffer[read..], line.Length, out int start, out int len, out int pathLength))
                {
                    case LineVerdict.Valid:
                        if (indexed < index.Length)
                            index[indexed++] = LineIndex.Pack(len + 1, pathLength);
                        int from = read + start;
                        if (from != write)
                            buffer.Slice(from, len).CopyTo(buffer[write..]);
                        write += len;
                        buffer[write++] = (byte)'\n';
                        valid++;
                        break;
                    case LineVerdict.Invalid:
                        invalid++;
                        Reject(line, ref rejected);
                        break;
                }
            }
            read = next;
        }
        outputLength = write;
        return new ParseCounts(valid, invalid, tooLong);
    }

    /// <summary>
    /// Writes <c>prefix.line</c> for every valid line into <paramref name="output"/>, a pooled buffer that
    /// is swapped for a larger one when it fills (the old one goes back to the pool). The line limit applies
    /// to the line as forwarded, prefix included. Stops, with <paramref name="outputLength"/> -1, when the
    /// output would pass <paramref name="maxOutputLength"/>: a prefix can make many short lines ten times longer.
    /// </summary>
    public static ParseCounts CopyWithPrefix(ReadOnlySpan<byte> input, scoped ReadOnlySpan<byte> prefix, int maxLineLength, long maxOutputLength, BufferPool buffers, ref byte[] output, Span<uint> index, ref RejectedLine rejected, out int outputLength, out int indexed)
    {
        int read = 0, write = 0, valid = 0, invalid = 0, tooLong = 0;
        indexed = 0;
        while (read < input.Length)
        {
            var rest = input[read..];
            int lf = rest.IndexOf((byte)'\n');
            var line = lf < 0 ? rest : rest[..lf];
            read += line.Length + 1;
            if (line.Length > maxLineLength)
            {
                tooLong++;
                rejected.Take(line, LineFault.TooLong);
                continue;
            }
            var verdict = GraphiteLine.Check(rest, line.Length, out int start, out int len, out int pathLength);
            if (verdict == LineVerdict.Invalid)
            {
                invalid++;
                Reject(line, ref rejected);
            }
            if (verdict != LineVerdict.Valid)
                continue;

            int needed = prefix.Length + 1 + len + 1;
            if (needed - 1 > maxLineLength)
            {
                tooLong++;
                rejected.Take(line, LineFault.TooLong);
                continue;
            }
            if (write + needed > maxOutputLength)
            {
                outputLength = -1;
                return new ParseCounts(valid, invalid, tooLong);
            }
            if (output.Length - write < needed)
                buffers.Grow(ref output, write, needed);
            var dest = output.AsSpan(write);
            prefix.CopyTo(dest);
            dest[prefix.Length] = (byte)'.';
            line.Slice(start, len).CopyTo(dest[(prefix.Length + 1)..]);
            dest[needed - 1] = (byte)'\n';
            write += needed;
            if (indexed < index.Length)
                index[indexed++] = LineIndex.Pack(needed, prefix.Length + 1 + pathLength);
            valid++;
        }
        outputLength = write;
        return new ParseCounts(valid, invalid, tooLong);
    }

    // Only the first rejected line of a batch is kept, so the reason is looked up once at most.
    private static void Reject(ReadOnlySpan<byte> line, ref RejectedLine rejected)
    {
        if (!rejected.Taken)
            rejected.Take(line, GraphiteLine.Diagnose(line, out _, out _, out _));
    }
}
