using System.Diagnostics;
using System.Text;
using Polymur.Gateway.Spool;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Spool;

/// <summary>
/// Start-up survives whatever the spool dir holds (F6, F9, F11, F16): a FIFO named like a segment, directories
/// where files should be, files over 2 GB and sparse ones (read in pieces: the memory bound is checked), a
/// zero-filled segment, a record damaged while the gateway was down, a 300-character destination. Each is
/// skipped, counted, logged and shown by <c>spool list</c>; the good segments beside them replay.
/// </summary>
public class SpoolStartupTests
{
    private const string Destination = "127.0.0.1:2003";

    private static string NewRoot() => Directory.CreateTempSubdirectory("pgw-spoolstart-").FullName;

    private static byte[] Batch(string name, int lines) =>
        Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, lines).Select(i => $"{name}.m{i} {i}.5 1700000000\n")));

    // A spool with one good segment holding one record of "good" lines; returns its directory.
    private static string GoodSpool(string root)
    {
        using var spool = DestinationSpool.Open(root, Destination, new SpoolBudget(1 << 30), new SpoolSettings());
        spool.TryAppend(Batch("good", 100), 100);
        return spool.Directory;
    }

    private static void Run(string program, params string[] args)
    {
        using var process = Process.Start(program, args);
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} exited {process.ExitCode}");
    }

    private static async Task<(DestinationSpool Spool, LogCollector Logs, long Allocated)> OpenAsync(string root)
    {
        var logs = new LogCollector();
        // On a thread of its own, with a deadline: the old start blocked for good on a FIFO.
        var open = Task.Factory.StartNew(() =>
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            var spool = DestinationSpool.Open(root, Destination, new SpoolBudget(1 << 30), new SpoolSettings(), logs.CreateLogger("spool"));
            return (spool, GC.GetAllocatedBytesForCurrentThread() - before);
        }, TaskCreationOptions.LongRunning);
        var (spool, allocated) = await open.WaitAsync(TimeSpan.FromSeconds(60));
        return (spool, logs, allocated);
    }

    private static List<string> TakeAll(DestinationSpool spool)
    {
        var taken = new List<string>();
        while (spool.Take(out _) is { } record)
            taken.Add(Encoding.ASCII.GetString(record.Lines));
        return taken;
    }

    [Test]
    public async Task A_fifo_and_directories_named_like_spool_files_are_skipped_and_the_good_segment_replays()
    {
        string root = NewRoot();
        string directory = GoodSpool(root);
        Run("mkfifo", Path.Combine(directory, SpoolDirectory.SegmentName(0)));
        Directory.CreateDirectory(Path.Combine(directory, "0000000000000003.spool"));
        File.Delete(Path.Combine(directory, SpoolDirectory.NameFile));
        Directory.CreateDirectory(Path.Combine(directory, SpoolDirectory.NameFile));

        var (spool, logs, _) = await OpenAsync(root);
        using (spool)
        {
            await Assert.That(TakeAll(spool)).IsEquivalentTo([Encoding.ASCII.GetString(Batch("good", 100))]);
            await Assert.That(spool.Counters.HeldFiles).IsEqualTo(2);
            await Assert.That(logs.All).Contains("0000000000000000.spool is skipped (a FIFO, not a file)");
            await Assert.That(logs.All).Contains("0000000000000003.spool is skipped (a directory, not a file)");
        }
    }

    [Test]
    [Arguments(2200L << 20)] // over 2 GB: File.ReadAllBytes threw
    [Arguments(1500L << 20)] // F11: read whole, 1.57 GB of RSS
    public async Task A_huge_sparse_segment_is_read_in_pieces_counted_as_damaged_and_kept(long size)
    {
        string root = NewRoot();
        string directory = GoodSpool(root);
        string huge = Path.Combine(directory, SpoolDirectory.SegmentName(0));
        using (var file = new FileStream(huge, FileMode.CreateNew, FileAccess.Write))
        {
            Span<byte> header = stackalloc byte[SegmentFormat.FileHeaderLength];
            SegmentFormat.WriteFileHeader(header);
            file.Write(header);
            file.SetLength(size);
        }

        var (spool, logs, allocated) = await OpenAsync(root);
        using (spool)
        {
            Console.WriteLine($"open of a {size >> 20} MiB sparse segment allocated {allocated >> 10} KiB");
            await Assert.That(allocated).IsLessThan(4L << 20);
            await Assert.That(TakeAll(spool)).IsEquivalentTo([Encoding.ASCII.GetString(Batch("good", 100))]);
            await Assert.That(spool.Counters.DamagedBytes).IsEqualTo(size - SegmentFormat.FileHeaderLength);
            await Assert.That(spool.Counters.HeldFiles).IsEqualTo(1);
            await Assert.That(new FileInfo(huge).Length).IsEqualTo(size); // kept as found
            await Assert.That(logs.All).Contains("not one whole record");
        }
    }

    [Test]
    public async Task A_zero_filled_segment_is_reported_and_its_bytes_counted_as_damaged()
    {
        // F16: it used to be ignored without a word.
        string root = NewRoot();
        string directory = GoodSpool(root);
        string zeros = Path.Combine(directory, SpoolDirectory.SegmentName(0));
        File.WriteAllBytes(zeros, new byte[300_000]);

        var (spool, logs, _) = await OpenAsync(root);
        using (spool)
        {
            await Assert.That(spool.Counters.DamagedBytes).IsEqualTo(300_000);
            await Assert.That(spool.Counters.HeldFiles).IsEqualTo(1);
            await Assert.That(logs.All).Contains($"{zeros} is not a spool segment");
            await Assert.That(TakeAll(spool)).Count().IsEqualTo(1);
        }
    }

    [Test]
    public async Task A_record_damaged_while_stopped_counts_its_points_as_spool_corrupt()
    {
        // F16 (flip): records found damaged at start were skipped without a count.
        string root = NewRoot();
        string directory;
        using (var spool = DestinationSpool.Open(root, Destination, new SpoolBudget(1 << 30), new SpoolSettings()))
        {
            directory = spool.Directory;
            spool.TryAppend(Batch("one", 100), 100);
            spool.TryAppend(Batch("two", 200), 200);
            spool.TryAppend(Batch("three", 300), 300);
        }
        string segment = Directory.GetFiles(directory, "*.spool").Single();
        var middle = SegmentReader.Scan(File.ReadAllBytes(segment), 1 << 20).Records[1];
        using (var file = new FileStream(segment, FileMode.Open, FileAccess.Write))
        {
            file.Seek(middle.Offset + SegmentFormat.RecordHeaderLength + 10, SeekOrigin.Begin);
            file.Write(new byte[16]);
        }

        var (reopened, logs, _) = await OpenAsync(root);
        using (reopened)
        {
            long pendingAtOpen = reopened.Counters.PendingPoints; // what the destination is told is in the spool
            var first = reopened.Take(out long unreadable)!;
            var rest = TakeAll(reopened);

            await Assert.That(reopened.Counters.CorruptPoints).IsEqualTo(200);
            await Assert.That(pendingAtOpen).IsEqualTo(600);
            await Assert.That(unreadable).IsEqualTo(200); // handed to the writer, which counts spool_corrupt
            await Assert.That(new[] { Encoding.ASCII.GetString(first.Lines) }.Concat(rest)).IsEquivalentTo(new[] { "one", "three" }.Select(n => Encoding.ASCII.GetString(Batch(n, n == "one" ? 100 : 300))));
            await Assert.That(logs.All).Contains("200 points of whole damaged records");
        }
    }

    [Test]
    public async Task A_300_character_destination_gets_a_bounded_directory_name()
    {
        // F9: PathTooLongException at start.
        string root = NewRoot();
        string host = new('h', 300);
        string name = SpoolDirectory.DirectoryName($"{host}:2003");

        using var spool = DestinationSpool.Open(root, $"{host}:2003", new SpoolBudget(1 << 30), new SpoolSettings());
        var appended = spool.TryAppend(Batch("long", 10), 10);

        await Assert.That(name.Length).IsLessThanOrEqualTo(SpoolDirectory.MaxReadableName + 9);
        await Assert.That(name).IsNotEqualTo(SpoolDirectory.DirectoryName($"{host}:2004"));
        await Assert.That(appended).IsEqualTo(SpoolAppend.Appended);
        await Assert.That(SpoolDirectory.DestinationOf(spool.Directory)).IsEqualTo($"{host}:2003");
    }

    [Test]
    public async Task Spool_list_names_every_entry_it_skips_and_does_not_hang_on_a_fifo()
    {
        string root = NewRoot();
        string directory = GoodSpool(root);
        Run("mkfifo", Path.Combine(directory, SpoolDirectory.SegmentName(0)));
        File.WriteAllBytes(Path.Combine(directory, SpoolDirectory.SegmentName(5)), new byte[4096]);
        File.WriteAllText(Path.Combine(directory, "notes.txt"), "hello");

        var (code, stdout, stderr) = await GatewayProcess.RunAsync(GatewayProcess.JitBinary, ["spool", "list", root]);

        await Assert.That(code).IsEqualTo(0);
        await Assert.That(stdout.Split('\n')[1].Split('\t')[3]).IsEqualTo("100");
        await Assert.That(stderr).Contains("0000000000000000.spool: a FIFO, not a file");
        await Assert.That(stderr).Contains("0000000000000005.spool: not a spool segment (4096 bytes");
        await Assert.That(stderr).Contains("notes.txt: not a spool file");
    }
}
