using System.Text;
using Polymur.Gateway.Spool;

namespace Polymur.Gateway.Tests.Spool;

/// <summary>
/// Delivery progress survives a crash: each segment's ack file says where its undelivered records begin, so a
/// restart replays only those (F18: SIGTERM mid-replay gave 250,000 duplicates of 1.6 M). A "crash" here is a
/// spool abandoned without Dispose, as SIGKILL leaves it; an ack file that is garbled, stale or of another
/// segment is never believed.
/// </summary>
public class SpoolAckTests
{
    private const string Destination = "10.0.0.7:2003";

    private static string NewRoot() => Directory.CreateTempSubdirectory("pgw-spoolack-").FullName;

    private static byte[] Batch(int i) => Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, 20).Select(j => $"ack.b{i}.m{j} {j} 1700000000\n")));

    private static List<int> Replay(string root)
    {
        using var spool = DestinationSpool.Open(root, Destination, new SpoolBudget(1 << 30), new SpoolSettings());
        var batches = new List<int>();
        while (spool.Take(out _) is { } record)
            batches.Add(int.Parse(Encoding.ASCII.GetString(record.Lines).Split('.')[1][1..]));
        return batches;
    }

    // Ten records in one segment; six taken, the first five delivered: the sixth is in flight at the crash.
    private static string CrashMidReplay(out string segment)
    {
        string root = NewRoot();
        var spool = DestinationSpool.Open(root, Destination, new SpoolBudget(1 << 30), new SpoolSettings());
        for (int i = 0; i < 10; i++)
            spool.TryAppend(Batch(i), 20);
        spool.Sync();
        var taken = Enumerable.Range(0, 6).Select(_ => spool.Take(out long _)!).ToList();
        taken.Take(5).ToList().ForEach(spool.Acknowledge);
        segment = Directory.GetFiles(spool.Directory, "*.spool").Single();
        return root; // never disposed: a SIGKILL
    }

    [Test]
    public async Task After_a_crash_mid_replay_only_the_record_in_flight_and_those_not_taken_come_again()
    {
        string root = CrashMidReplay(out _);

        var replayed = Replay(root);

        await Assert.That(replayed).IsEquivalentTo([5, 6, 7, 8, 9]);
    }

    [Test]
    public async Task Out_of_order_acknowledgements_count_only_up_to_the_first_gap()
    {
        string root = NewRoot();
        var spool = DestinationSpool.Open(root, Destination, new SpoolBudget(1 << 30), new SpoolSettings());
        for (int i = 0; i < 5; i++)
            spool.TryAppend(Batch(i), 20);
        spool.Sync();
        var taken = Enumerable.Range(0, 5).Select(_ => spool.Take(out long _)!).ToList();
        spool.Acknowledge(taken[0]);
        spool.Acknowledge(taken[2]); // 1 is still in flight: the file may only say "from 1"
        spool.Acknowledge(taken[3]);

        await Assert.That(Replay(root)).IsEquivalentTo([1, 2, 3, 4]);
    }

    [Test]
    [Arguments("garbled")]
    [Arguments("short")]
    [Arguments("other segment")]
    public async Task An_ack_file_that_cannot_be_believed_replays_the_whole_segment(string damage)
    {
        string root = CrashMidReplay(out string segment);
        string ack = AckFile.PathFor(segment);
        var bytes = File.ReadAllBytes(ack);
        switch (damage)
        {
            case "garbled":
                bytes[10] ^= 0x55;
                File.WriteAllBytes(ack, bytes);
                break;
            case "short":
                File.WriteAllBytes(ack, bytes[..9]);
                break;
            default:
                // Right format and CRC, but written for a segment whose first record was another.
                var other = new byte[AckFile.Length];
                AckFile.Encode(other, long.MaxValue, 12345);
                File.WriteAllBytes(ack, other);
                break;
        }

        await Assert.That(Replay(root)).IsEquivalentTo(Enumerable.Range(0, 10).ToList());
    }

    [Test]
    public async Task An_ack_offset_past_the_last_record_means_all_were_delivered_and_the_segment_goes()
    {
        string root = CrashMidReplay(out string segment);
        var first = SegmentReader.Scan(File.ReadAllBytes(segment), 1 << 20).Records[0];
        var bytes = new byte[AckFile.Length];
        AckFile.Encode(bytes, 1L << 40, AckFile.Fingerprint(first.Header));
        File.WriteAllBytes(AckFile.PathFor(segment), bytes);

        var replayed = Replay(root);

        await Assert.That(replayed).IsEmpty();
        await Assert.That(File.Exists(segment)).IsFalse();
        await Assert.That(File.Exists(AckFile.PathFor(segment))).IsFalse();
    }

    [Test]
    public async Task A_stale_ack_file_left_without_its_segment_is_removed_and_its_number_never_reused()
    {
        string root = CrashMidReplay(out string segment);
        string ack = AckFile.PathFor(segment);
        File.Delete(segment); // a crash between deleting the segment and its ack file
        string stale = Path.Combine(Path.GetDirectoryName(ack)!, "0000000000000007" + AckFile.Extension);
        File.Copy(ack, stale);

        using var spool = DestinationSpool.Open(root, Destination, new SpoolBudget(1 << 30), new SpoolSettings());
        spool.TryAppend(Batch(42), 20);
        var files = Directory.GetFiles(spool.Directory).Select(f => Path.GetFileName(f)!).Order().ToArray();

        await Assert.That(files).IsEquivalentTo(new[] { "0000000000000008.spool", SpoolDirectory.NameFile });
    }
}
