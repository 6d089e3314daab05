using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Polymur.Gateway.Primitives;
using Polymur.Gateway.Ingest;
using Polymur.Gateway.Outputs;
using Polymur.Gateway.Parsing;

namespace Polymur.Gateway.Tests.Reliability;

/// <summary>
/// The fuzz targets' invariants (fuzz/Gateway.Fuzz compiles this same file): every line the splitter writes
/// re-validates as itself, carries its prefix, and the counts agree; the decoder never passes its limit.
/// FuzzCorpusTests replays the committed corpus through them on every make test.
/// </summary>
public static class FuzzTargets
{
    private const int MaxLine = 256;

    // One pool across runs, as in the gateway: a buffer handed back dirty must not leak into the next input.
    private static readonly BufferPool Buffers = new();

    /// <summary>The splitter on arbitrary bytes: in place and with a prefix, both must agree and re-validate.</summary>
    public static void Lines(byte[] data)
    {
        var buffer = new byte[data.Length + 1];
        data.CopyTo(buffer, 0);
        var counts = LineSplitter.CompactInPlace(buffer, data.Length, MaxLine, out int length);
        Check(length <= data.Length + 1, "output longer than input + 1");
        CheckOutput(buffer.AsSpan(0, length), counts.Valid, prefix: "");

        var output = Buffers.Rent(16);
        var prefixed = LineSplitter.CopyWithPrefix(data, "p"u8, MaxLine, long.MaxValue, Buffers, ref output, out int prefixedLength);
        // The limit applies with the prefix: a valid line can become too long, nothing else changes.
        Check(prefixed.Invalid == counts.Invalid && prefixed.Valid + prefixed.TooLong == counts.Valid + counts.TooLong, "prefixed and in-place counts differ");
        CheckOutput(output.AsSpan(0, prefixedLength), prefixed.Valid, prefix: "p.");
        Buffers.Return(output);
    }

    /// <summary>Arbitrary bytes as a request body: decode (under a 1 MiB limit), then split.</summary>
    public static void GzipToLines(byte[] data)
    {
        var pipe = new Pipe();
        pipe.Writer.Write(data);
        pipe.Writer.Complete();
        var decoded = new GzipBatchDecoder(Buffers, 1 << 20).DecodeAsync(pipe.Reader, data.Length, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        if (decoded.Status != DecodeStatus.Ok)
            return;
        Check(decoded.Length <= 1 << 20, "decoded past the limit");
        Check(decoded.Buffer.Length > decoded.Length, "no spare byte after the batch");
        var counts = LineSplitter.CompactInPlace(decoded.Buffer, decoded.Length, MaxLine, out int length);
        CheckOutput(decoded.Buffer.AsSpan(0, length), counts.Valid, prefix: "");
        decoded.ReturnBuffer();
    }

    // Every output line ends in LF, is valid, carries the prefix, and there are as many as counted.
    private static void CheckOutput(ReadOnlySpan<byte> output, int valid, string prefix)
    {
        Check(output.Count((byte)'\n') == valid, "valid count differs from lines written");
        Check(output.IsEmpty || output[^1] == '\n', "output does not end in LF");
        foreach (var range in output.Split((byte)'\n'))
        {
            var line = output[range];
            if (line.IsEmpty)
                continue;
            Check(Encoding.UTF8.GetString(line).StartsWith(prefix, StringComparison.Ordinal), "line lacks its prefix");
            Check(GraphiteLine.Check(line, out int start, out int len, out _) == LineVerdict.Valid && start == 0 && len == line.Length, "an output line does not re-validate as itself");
        }
    }

    private static void Check(bool condition, string what)
    {
        if (!condition)
            throw new InvalidOperationException("fuzz invariant broken: " + what);
    }
}
