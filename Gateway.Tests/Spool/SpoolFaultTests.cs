using System.Diagnostics;
using System.Text;
using Polymur.Gateway.Spool;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Spool;

/// <summary>
/// A spool whose disk misbehaves: a record changed under it, a failed fsync (through the one seam: EIO cannot be
/// produced here), a full tmpfs (real ENOSPC) and the size limit. Every case is answered, counted and logged;
/// nothing throws to the writer and replay goes on with what is still good.
/// </summary>
[NotInParallel("tmpfs")]
public class SpoolFaultTests
{
    private const string Destination = "10.0.0.9:2003";

    private static string NewRoot() => Directory.CreateTempSubdirectory("pgw-spoolfault-").FullName;

    private static byte[] Batch(string name, int lines) =>
        Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, lines).Select(i => $"{name}.m{i} {i}.5 1700000000\n")));

    // Random values compress poorly: a small disk fills within a few batches.
    private static byte[] Noisy(int seed, int lines)
    {
        var random = new Random(seed);
        return Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, lines).Select(j => $"noisy.b{seed}.m{j} {random.NextDouble()} {1700000000 + random.Next(1000)}\n")));
    }

    private static List<string> TakeAll(DestinationSpool spool, out long unreadable)
    {
        var taken = new List<string>();
        unreadable = 0;
        while (true)
        {
            var record = spool.Take(out long lost);
            unreadable += lost;
            if (record is null)
                return taken;
            taken.Add(Encoding.ASCII.GetString(record.Lines));
            spool.Acknowledge(record);
        }
    }

    private static void Run(string program, params string[] args)
    {
        using var process = Process.Start(program, args);
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} exited {process.ExitCode} (the test needs root to mount a tmpfs)");
    }

    [Test]
    public async Task A_record_damaged_at_runtime_as_its_segments_last_is_skipped_counted_and_replay_goes_on()
    {
        // F1 (flip): the last record of a segment whose others were delivered fails its CRC on read-back. Take
        // used to finish the segment inside its foreach over the segments, and the writer died of the exception.
        using var spool = DestinationSpool.Open(NewRoot(), Destination, new SpoolBudget(1 << 30), new SpoolSettings());
        spool.TryAppend(Batch("first", 50), 50);
        spool.TryAppend(Batch("second", 70), 70);
        var first = spool.Take(out _)!;
        spool.Acknowledge(first);
        string segment = Directory.GetFiles(spool.Directory, "*.spool").Single();
        using (var file = new FileStream(segment, FileMode.Open, FileAccess.Write))
        {
            file.Seek(-10, SeekOrigin.End);
            file.Write([0xff, 0xff, 0xff, 0xff]);
        }

        var none = spool.Take(out long unreadable);
        spool.TryAppend(Batch("third", 30), 30);
        var later = TakeAll(spool, out _);

        await Assert.That(none).IsNull();
        await Assert.That(unreadable).IsEqualTo(70);
        await Assert.That(spool.Counters.CorruptPoints).IsEqualTo(70);
        await Assert.That(later).IsEquivalentTo([Encoding.ASCII.GetString(Batch("third", 30))]);
        await Assert.That(spool.Counters.PendingPoints).IsEqualTo(0);
    }

    [Test]
    public async Task A_failed_fsync_writes_what_it_covered_again_to_a_new_segment_and_nothing_is_replayed_twice_or_lost()
    {
        string root = NewRoot();
        string? failOn = null;
        var settings = new SpoolSettings
        {
            FsyncInterval = TimeSpan.FromHours(1), // only the explicit Sync below
            FsyncFault = path => path == failOn ? new IOException("Input/output error") : null,
        };
        var logs = new LogCollector();
        string directory;
        using (var spool = DestinationSpool.Open(root, Destination, new SpoolBudget(1 << 30), settings, logs.CreateLogger("spool")))
        {
            directory = spool.Directory;
            spool.TryAppend(Batch("durable", 10), 10);
            spool.Sync();
            spool.TryAppend(Batch("after.one", 20), 20);
            spool.TryAppend(Batch("after.two", 30), 30);
            failOn = Path.Combine(directory, SpoolDirectory.SegmentName(1));
            spool.Sync();

            await Assert.That(spool.Counters.FsyncFailures).IsEqualTo(1);
            await Assert.That(spool.Counters.LostPoints).IsEqualTo(0);
            await Assert.That(spool.Counters.PendingPoints).IsEqualTo(60);
        }
        var files = Directory.GetFiles(directory, "*.spool").Order().ToArray();
        var first = SegmentReader.Scan(File.ReadAllBytes(files[0]), 1 << 20);
        var again = SegmentReader.Scan(File.ReadAllBytes(files[1]), 1 << 20);

        using var reopened = DestinationSpool.Open(root, Destination, new SpoolBudget(1 << 30), new SpoolSettings());
        var replayed = TakeAll(reopened, out long unreadable);

        // The failed file is cut back to its last good fsync; the rest is in the new segment, once.
        await Assert.That(files.Length).IsEqualTo(2);
        await Assert.That(first.Points).IsEqualTo(10);
        await Assert.That(first.TornBytes).IsEqualTo(0);
        await Assert.That(again.Points).IsEqualTo(50);
        await Assert.That(replayed).IsEquivalentTo(new[] { "durable", "after.one", "after.two" }.Select((n, i) => Encoding.ASCII.GetString(Batch(n, (i + 1) * 10))));
        await Assert.That(unreadable).IsEqualTo(0);
        await Assert.That(logs.All).Contains("fsync of " + failOn + " failed (Input/output error)");
        await Assert.That(logs.All).Contains("2 records (50 points) written again to");
    }

    [Test]
    public async Task When_the_rewrite_fails_too_the_points_are_counted_as_lost_said_and_handed_to_the_writer()
    {
        var settings = new SpoolSettings
        {
            FsyncInterval = TimeSpan.FromHours(1),
            FsyncFault = _ => new IOException("Input/output error"),
        };
        var logs = new LogCollector();
        using var spool = DestinationSpool.Open(NewRoot(), Destination, new SpoolBudget(1 << 30), settings, logs.CreateLogger("spool"));
        spool.TryAppend(Batch("doomed", 40), 40);
        spool.Sync();

        var taken = TakeAll(spool, out long unreadable);
        var refused = spool.TryAppend(Batch("meanwhile", 5), 5);

        await Assert.That(spool.Counters.LostPoints).IsEqualTo(40);
        await Assert.That(taken).IsEmpty();
        await Assert.That(unreadable).IsEqualTo(40); // the writer counts them as dropped: the identity holds
        await Assert.That(refused).IsEqualTo(SpoolAppend.Failed);
        await Assert.That(logs.All).Contains("40 points in 1 records could not be made durable");
        await Assert.That(Directory.GetFiles(spool.Directory, "*.spool").Select(f => new FileInfo(f).Length)).DoesNotContain(0L);
    }

    [Test]
    public async Task The_final_fsync_at_close_is_checked_too()
    {
        string root = NewRoot();
        bool fail = false;
        var settings = new SpoolSettings { FsyncInterval = TimeSpan.FromHours(1), FsyncFault = p => fail && p.EndsWith(SpoolDirectory.SegmentName(1), StringComparison.Ordinal) ? new IOException("Input/output error") : null };
        var spool = DestinationSpool.Open(root, Destination, new SpoolBudget(1 << 30), settings);
        spool.TryAppend(Batch("at.close", 25), 25);
        fail = true;
        spool.Dispose();

        using var reopened = DestinationSpool.Open(root, Destination, new SpoolBudget(1 << 30), new SpoolSettings());
        var replayed = TakeAll(reopened, out _);

        await Assert.That(spool.Counters.FsyncFailures).IsEqualTo(1);
        await Assert.That(replayed).IsEquivalentTo([Encoding.ASCII.GetString(Batch("at.close", 25))]);
    }

    [Test]
    public async Task A_full_tmpfs_answers_Failed_says_so_rate_limited_leaves_no_empty_segment_and_keeps_what_fit()
    {
        // F4 (ENOSPC, for real): a 256 KiB tmpfs. The old spool left a 0-byte segment behind after the retry.
        string mount = Directory.CreateTempSubdirectory("pgw-tmpfs-").FullName;
        Run("mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", mount);
        try
        {
            var logs = new LogCollector();
            // Retried at once, so each failed append also tries a new segment (whose header cannot be written).
            var settings = new SpoolSettings { SegmentBytes = 48 << 10, RetryAfterFailure = TimeSpan.Zero };
            var appended = new List<string>();
            var results = new List<SpoolAppend>();
            using (var spool = DestinationSpool.Open(mount, Destination, new SpoolBudget(1 << 30), settings, logs.CreateLogger("spool")))
            {
                for (int i = 0; i < 60; i++)
                {
                    var batch = Noisy(i, 300);
                    var result = spool.TryAppend(batch, 300);
                    results.Add(result);
                    if (result == SpoolAppend.Appended)
                        appended.Add(Encoding.ASCII.GetString(batch));
                }
                await Assert.That(spool.Counters.WriteFailures).IsGreaterThan(0);
            }
            var empty = Directory.GetFiles(mount, "*.spool", SearchOption.AllDirectories).Where(f => new FileInfo(f).Length == 0).ToList();
            using var reopened = DestinationSpool.Open(mount, Destination, new SpoolBudget(1 << 30), new SpoolSettings());
            var replayed = TakeAll(reopened, out _);

            await Assert.That(results).Contains(SpoolAppend.Failed);
            await Assert.That(empty).IsEmpty();
            await Assert.That(replayed).IsEquivalentTo(appended);
            // Said, but not once per refused append.
            int said = logs.Lines.Count(l => l.Contains("cannot be written"));
            await Assert.That(said).IsGreaterThanOrEqualTo(1);
            await Assert.That(said).IsLessThan(results.Count(r => r == SpoolAppend.Failed));
        }
        finally
        {
            Run("umount", "-l", mount);
        }
    }

    [Test]
    public async Task At_the_size_limit_the_refusal_is_logged_with_how_many()
    {
        // F4 (-spool-max-size): refusals were counted but never logged.
        var logs = new LogCollector();
        using var spool = DestinationSpool.Open(NewRoot(), Destination, new SpoolBudget(8 << 10), new SpoolSettings(), logs.CreateLogger("spool"));
        spool.TryAppend(Batch("fits", 10), 10);
        var results = Enumerable.Range(0, 5).Select(i => spool.TryAppend(Batch($"too.big{i}", 5000), 5000)).ToList();

        await Assert.That(results.All(r => r == SpoolAppend.Full)).IsTrue();
        await Assert.That(logs.Lines.Count(l => l.Contains("-spool-max-size is reached"))).IsEqualTo(1);
    }

    [Test]
    public async Task Appends_compress_outside_the_lock()
    {
        // Brotli ran under the spool's lock, so every request for a down destination waited its turn. Now one
        // thread holding the lock (a long fsync, say) does not stop another from compressing: the second append
        // finishes compressing while the lock is held, and only waits to write.
        using var spool = DestinationSpool.Open(NewRoot(), Destination, new SpoolBudget(1 << 30), new SpoolSettings());
        var big = Noisy(1, 200_000);
        spool.TryAppend(big, 200_000);
        long before = spool.FramesCompressed;
        var locked = typeof(DestinationSpool).GetField("_lock", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(spool)!;
        // A thread of its own holds the lock: a monitor is released by the thread that took it, not by an await.
        using var held = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var holder = new Thread(() =>
        {
            lock (locked)
            {
                held.Set();
                release.Wait();
            }
        });
        holder.Start();
        held.Wait();
        Task<SpoolAppend> second;
        bool compressedWhileLocked;
        bool waitedForTheLock;
        try
        {
            second = Task.Run(() => spool.TryAppend(big, 200_000));
            // Polled, not timed: the frame is compressed while the other thread still holds the lock.
            compressedWhileLocked = await Poll.UntilAsync(() => spool.FramesCompressed > before, TimeSpan.FromSeconds(60));
            waitedForTheLock = !second.IsCompleted;
        }
        finally
        {
            release.Set();
            holder.Join();
        }
        await Assert.That(compressedWhileLocked).IsTrue();
        await Assert.That(waitedForTheLock).IsTrue();
        await Assert.That(await second).IsEqualTo(SpoolAppend.Appended);
    }
}
