using System.Globalization;

namespace Polymur.Gateway.Spool;

/// <summary>
/// <c>polymur-gateway spool list DIR</c> and <c>spool cat DIR DEST</c>: what the spool holds, and its lines, so
/// nothing is ever trapped in a file nobody can read. Both only read; damaged records are skipped and counted
/// on stderr, never printed.
/// </summary>
internal static class SpoolTool
{
    private const int MaxRecord = int.MaxValue - 64;

    /// <param name="stdout">Raw bytes: <c>cat</c> writes the lines exactly as they were spooled.</param>
    public static int Run(IReadOnlyList<string> args, Stream stdout, TextWriter stderr)
    {
        if (args.Count == 2 && args[0] == "list")
        {
            using var text = new StreamWriter(stdout, leaveOpen: true);
            return List(args[1], text, stderr);
        }
        if (args.Count == 3 && args[0] == "cat")
            return Cat(args[1], args[2], stdout, stderr);
        stderr.WriteLine("usage: polymur-gateway spool list DIR | spool cat DIR DESTINATION");
        return Configuration.CommandLine.UsageExitCode;
    }

    private static int List(string spoolDir, TextWriter stdout, TextWriter stderr)
    {
        if (!Directory.Exists(spoolDir))
            return Fail(stderr, $"no spool directory {spoolDir}");
        stdout.WriteLine("destination\tfiles\tbytes\tpoints\toldest\tnewest");
        foreach (string directory in Directory.EnumerateDirectories(spoolDir).Order(StringComparer.Ordinal))
        {
            long bytes = 0, points = 0, oldest = long.MaxValue, newest = long.MinValue;
            var segments = SpoolDirectory.Segments(directory);
            foreach (var (_, path) in segments)
            {
                var file = File.ReadAllBytes(path);
                var scan = SegmentReader.Scan(file, MaxRecord);
                bytes += file.Length;
                points += scan.Points;
                foreach (var record in scan.Records)
                {
                    oldest = Math.Min(oldest, record.Header.CreatedUnixMs);
                    newest = Math.Max(newest, record.Header.CreatedUnixMs);
                }
                Warn(stderr, path, scan);
            }
            string name = SpoolDirectory.DestinationOf(directory) ?? $"(unknown: {Path.GetFileName(directory)})";
            stdout.WriteLine($"{name}\t{segments.Count}\t{bytes}\t{points}\t{Time(oldest)}\t{Time(newest)}");
        }
        return 0;
    }

    private static int Cat(string spoolDir, string destination, Stream stdout, TextWriter stderr)
    {
        string directory = SpoolDirectory.For(spoolDir, destination);
        if (!Directory.Exists(directory))
            directory = Path.Combine(spoolDir, destination); // the directory's own name works too
        if (!Directory.Exists(directory))
            return Fail(stderr, $"no spool for {destination} in {spoolDir}");
        foreach (var (_, path) in SpoolDirectory.Segments(directory))
        {
            var file = File.ReadAllBytes(path);
            var scan = SegmentReader.Scan(file, MaxRecord);
            Warn(stderr, path, scan);
            foreach (var record in scan.Records)
            {
                var lines = SegmentReader.ReadLines(file, record);
                if (lines is null)
                {
                    stderr.WriteLine($"{path}: a record at {record.Offset} does not decompress; skipped");
                    continue;
                }
                stdout.Write(lines);
            }
        }
        return 0;
    }

    private static void Warn(TextWriter stderr, string path, SegmentScan scan)
    {
        if (scan.State != SegmentState.Readable)
            stderr.WriteLine($"{path}: {scan.State switch { SegmentState.Empty => "empty", SegmentState.NewerVersion => "written by a newer gateway; left as it is", _ => "not a spool segment" }}");
        if (scan.CorruptRegions > 0)
            stderr.WriteLine($"{path}: {scan.CorruptBytes} corrupt bytes in {scan.CorruptRegions} places skipped");
        if (scan.TornBytes > 0 && scan.State == SegmentState.Readable)
            stderr.WriteLine($"{path}: a torn tail of {scan.TornBytes} bytes (a write cut short) ignored");
    }

    private static string Time(long unixMs) =>
        unixMs is long.MaxValue or long.MinValue ? "-" : DateTimeOffset.FromUnixTimeMilliseconds(unixMs).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    private static int Fail(TextWriter stderr, string message)
    {
        stderr.WriteLine($"polymur-gateway spool: {message}");
        return 1;
    }
}
