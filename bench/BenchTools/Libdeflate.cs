using System.Diagnostics;
using System.Runtime.InteropServices;

/// <summary>libdeflate's whole-buffer gzip inflate on the bench batch: the floor a libdeflate gateway would have.</summary>
internal static unsafe partial class Libdeflate
{
    // The runtime library's soname, so the bench needs no -dev package (Debian's libdeflate0).
    private const string Library = "libdeflate.so.0";

    [LibraryImport(Library, EntryPoint = "libdeflate_alloc_decompressor")]
    private static partial IntPtr AllocDecompressor();

    [LibraryImport(Library, EntryPoint = "libdeflate_free_decompressor")]
    private static partial void FreeDecompressor(IntPtr decompressor);

    [LibraryImport(Library, EntryPoint = "libdeflate_gzip_decompress_ex")]
    private static partial int GzipDecompress(IntPtr decompressor, byte* input, nuint inputLength, byte* output, nuint outputAvailable, nuint* inputUsed, nuint* outputWritten);

    /// <summary>CPU ns per metric for libdeflate inflating the batch, on this thread alone.</summary>
    public static int Inflate(string path, int seconds)
    {
        var gz = File.ReadAllBytes(path);
        var output = new byte[8 << 20];
        IntPtr d = AllocDecompressor();
        var process = Process.GetCurrentProcess();
        long batches = 0;
        int lines = 0;
        var start = process.TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        fixed (byte* input = gz)
        fixed (byte* outp = output)
        {
            while (wall.Elapsed.TotalSeconds < seconds)
            {
                nuint used, written;
                int rc = GzipDecompress(d, input, (nuint)gz.Length, outp, (nuint)output.Length, &used, &written);
                if (rc != 0)
                    throw new InvalidOperationException($"libdeflate_gzip_decompress_ex: {rc}");
                lines = output.AsSpan(0, (int)written).Count((byte)'\n');
                batches++;
            }
        }
        FreeDecompressor(d);
        process.Refresh();
        double cpuNs = (process.TotalProcessorTime - start).TotalMilliseconds * 1e6;
        Console.WriteLine($"inflate_ns_per_metric={cpuNs / (batches * lines):0.0}");
        return 0;
    }
}
