using System.Globalization;

namespace Polymur.Gateway.Spool;

/// <summary>
/// <c>polymur-gateway spool list DIR</c> and <c>spool cat DIR DEST</c>: what the spool holds, and its lines, so
/// nothing is ever trapped in a file nobody can read. Both only read, in pieces (never a whole file), and never
/// open a FIFO, a device or a link; damaged records are skipped and counted on stderr, never printed, and every
/// entry the gateway skips (unreadable, not a segment, not a file) is named there with why.
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
        foreach (string directory in Entries(spoolDir, stderr))
        {
            var facts = SpoolFiles.Lstat(directory);
            if (facts.Kind != EntryKind.Directory)
            {
                if (Path.GetFileName(directory) != SpoolLock.FileName)
                    stderr.WriteLine($"{directory}: a {SpoolFiles.Describe(facts.Kind)} in the spool dir, not a destination's spool; the gateway leaves it alone");
                continue;
            }
            long bytes = 0, points = 0, oldest = long.MaxValue, newest = long.MinValue;
            var segments = SpoolDirectory.Segments(directory);
            foreach (var (_, path) in segments)
            {
                using var handle = SpoolFiles.OpenRegular(path, out var file, out string? error);
                bytes += file.Kind == EntryKind.Regular ? file.Size : 0;
                if (handle is null)
                {
                    stderr.WriteLine($"{path}: {error}; skipped by the gateway, left as it is");
                    continue;
                }
                var scan = Scan(handle, file, path, stderr);
                if (scan is null)
                    continue;
                long delivered = AckFile.Read(path, scan.Records.Count > 0 ? AckFile.Fingerprint(scan.Records[0].Header) : 0) ?? 0;
                foreach (var record in scan.Records.Where(r => r.Offset >= delivered))
                {
                    points += record.Header.Points;
                    oldest = Math.Min(oldest, record.Header.CreatedUnixMs);
                    newest = Math.Max(newest, record.Header.CreatedUnixMs);
                }
                Warn(stderr, path, scan, file);
            }
            foreach (var other in Others(directory))
                stderr.WriteLine($"{other}: not a spool file; the gateway leaves it alone");
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
            using var handle = SpoolFiles.OpenRegular(path, out var file, out string? error);
            if (handle is null)
            {
                stderr.WriteLine($"{path}: {error}; skipped");
                continue;
            }
            var scan = Scan(handle, file, path, stderr);
            if (scan is null)
                continue;
            Warn(stderr, path, scan, file);
            var source = SegmentSource.Of(handle, file.Size);
            foreach (var record in scan.Records)
            {
                var lines = GC.AllocateUninitializedArray<byte>(record.Header.RawLength);
                if (!SegmentReader.TryReadLines(source, record, lines))
                {
                    stderr.WriteLine($"{path}: a record at {record.Offset} does not decompress; skipped");
                    continue;
                }
                stdout.Write(lines);
            }
        }
        return 0;
    }

    private static SegmentScan? Scan(Microsoft.Win32.SafeHandles.SafeFileHandle handle, FileFacts file, string path, TextWriter stderr)
    {
        try
        {
            return SegmentReader.Scan(SegmentSource.Of(handle, file.Size), MaxRecord);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"{path}: cannot be read ({e.Message}); skipped");
            return null;
        }
    }

    private static IEnumerable<string> Entries(string directory, TextWriter stderr)
    {
        try
        {
            return [.. Directory.EnumerateFileSystemEntries(directory).Order(StringComparer.Ordinal)];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"{directory}: cannot be listed ({e.Message})");
            return [];
        }
    }

    // Entries of a destination's spool that are neither segments, ack files nor its name file.
    private static IEnumerable<string> Others(string directory)
    {
        var known = SpoolDirectory.Segments(directory).Concat(SpoolDirectory.AckFiles(directory)).Select(s => s.Path).ToHashSet(StringComparer.Ordinal);
        return Entries(directory, TextWriter.Null).Where(p => !known.Contains(p) && !(Path.GetFileName(p) == SpoolDirectory.NameFile && SpoolFiles.Lstat(p).Kind == EntryKind.Regular));
    }

    private static void Warn(TextWriter stderr, string path, SegmentScan scan, FileFacts file)
    {
        if (scan.State != SegmentState.Readable)
            stderr.WriteLine($"{path}: {scan.State switch { SegmentState.Empty => "empty", SegmentState.NewerVersion => "written by a newer gateway; left as it is", _ => $"not a spool segment ({file.Size} bytes, zero-filled or overwritten): counted as damaged, skipped" }}");
        if (scan.CorruptRegions > 0)
            stderr.WriteLine($"{path}: {scan.CorruptBytes} corrupt bytes in {scan.CorruptRegions} places skipped ({scan.CorruptPoints} points of whole damaged records)");
        if (scan.TornBytes > 0 && scan.State == SegmentState.Readable)
            stderr.WriteLine($"{path}: a torn tail of {scan.TornBytes} bytes (a write cut short, or damage) ignored");
        if (file.Allocated < file.Size / 2 && file.Size > 1 << 20)
            stderr.WriteLine($"{path}: sparse ({file.Size} bytes, {file.Allocated} on disk)");
    }

    private static string Time(long unixMs) =>
        unixMs is long.MaxValue or long.MinValue ? "-" : DateTimeOffset.FromUnixTimeMilliseconds(unixMs).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    private static int Fail(TextWriter stderr, string message)
    {
        stderr.WriteLine($"polymur-gateway spool: {message}");
        return 1;
    }
}
