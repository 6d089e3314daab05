using System.Diagnostics;
using Polymur.Gateway.Ingest;

/// <summary>
/// libdeflate's whole-buffer gzip inflate on the bench batch, through the gateway's own binding (linked in from
/// Gateway/Ingest/Libdeflate.cs; under the JIT it loads Debian's libdeflate.so.0): the floor the gateway has.
/// </summary>
internal static class LibdeflateFloor
{
    /// <summary>CPU ns per metric for libdeflate inflating the batch, on this thread alone.</summary>
    public static int Inflate(string path, int seconds)
    {
        var gz = File.ReadAllBytes(path);
        var output = new byte[8 << 20];
        using var decompressor = new Libdeflate();
        var process = Process.GetCurrentProcess();
        long batches = 0;
        int lines = 0;
        var start = process.TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        while (wall.Elapsed.TotalSeconds < seconds)
        {
            if (decompressor.Inflate(gz, output, out _, out int written) != MemberResult.Done)
                throw new InvalidOperationException("libdeflate could not inflate the bench batch");
            lines = output.AsSpan(0, written).Count((byte)'\n');
            batches++;
        }
        process.Refresh();
        double cpuNs = (process.TotalProcessorTime - start).TotalMilliseconds * 1e6;
        Console.WriteLine($"inflate_ns_per_metric={cpuNs / (batches * lines):0.0}");
        return 0;
    }
}
