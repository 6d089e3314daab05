using System.Text;
using Polymur.Gateway.Spool;

namespace Polymur.Gateway.Tests.Spool;

/// <summary>The spool's segment files: written, then read back through every kind of damage.</summary>
public class SegmentTests
{
    private const int MaxRaw = 64 << 20;
    private static readonly long Created = DateTimeOffset.Parse("2026-12-02T06:00:00Z").ToUnixTimeMilliseconds();

    private static string TempFile() => Path.Combine(Directory.CreateTempSubdirectory("pgw-spool-").FullName, SpoolDirectory.SegmentName(1));

    /// <summary>
    /// Lines as a proxy forwards them (the bench's shape, about 58 bytes): 97 hosts, a value with two decimals
    /// drawn at random, and a timestamp that moves every 10 s flush.
    /// </summary>
    private static string TypicalLines(int seed, int count)
    {
        var random = new Random(seed);
        var text = new StringBuilder();
        for (int i = 0; i < count; i++)
            text.Append($"prod.web{i % 97:00}.app.http.requests.p{i % 1000:0000}.rate {random.Next(100000) / 100.0:0.00} {1700000000 + i / 1000 * 10}\n");
        return text.ToString();
    }

    /// <summary>Three batches of typical lines in one segment; returns the path and the batches.</summary>
    private static (string Path, string[] Batches) WriteThree()
    {
        string path = TempFile();
        string[] batches = [TypicalLines(1, 5000), TypicalLines(2, 3000), TypicalLines(3, 10)];
        using var writer = SegmentWriter.Create(path);
        foreach (var (batch, i) in batches.Select((b, i) => (b, i)))
            writer.Append(Encoding.ASCII.GetBytes(batch), batch.Count(c => c == '\n'), Created + i);
        writer.FlushToDisk();
        return (path, batches);
    }

    private static string[] LinesOf(byte[] file, SegmentScan scan) =>
        [.. scan.Records.Select(r => Encoding.ASCII.GetString(SegmentReader.ReadLines(file, r)!))];

    [Test]
    public async Task Records_read_back_exactly_and_typical_lines_cost_under_12_bytes_a_point()
    {
        var (path, batches) = WriteThree();
        var file = File.ReadAllBytes(path);
        var scan = SegmentReader.Scan(file, MaxRaw);

        long points = batches.Sum(b => b.Count(c => c == '\n'));
        double perPoint = (double)file.Length / points;
        Console.WriteLine($"spool: {points} points of {batches.Sum(b => b.Length) / (double)points:0.0} bytes in {file.Length} bytes: {perPoint:0.00} bytes per point");
        await Assert.That(scan.State).IsEqualTo(SegmentState.Readable);
        await Assert.That(LinesOf(file, scan)).IsEquivalentTo(batches);
        await Assert.That(scan.Records.Select(r => r.Header.CreatedUnixMs)).IsEquivalentTo([Created, Created + 1, Created + 2]);
        await Assert.That(scan.Points).IsEqualTo(points);
        await Assert.That(scan.TornBytes).IsEqualTo(0);
        await Assert.That(perPoint).IsLessThan(12.0);
    }

    [Test]
    public async Task A_torn_tail_is_cut_at_the_last_whole_record()
    {
        var (path, batches) = WriteThree();
        var whole = File.ReadAllBytes(path);
        var last = SegmentReader.Scan(whole, MaxRaw).Records[^1];
        var torn = whole[..^5];

        var scan = SegmentReader.Scan(torn, MaxRaw);

        await Assert.That(LinesOf(torn, scan)).IsEquivalentTo(batches[..2]);
        await Assert.That(scan.ValidLength).IsEqualTo(last.Offset);
        await Assert.That(scan.TornBytes).IsEqualTo(torn.Length - last.Offset);
        await Assert.That(scan.CorruptRegions).IsEqualTo(0);
    }

    [Test]
    [Arguments(0)]   // the marker
    [Arguments(5)]   // the payload length
    [Arguments(13)]  // the points
    [Arguments(26)]  // the CRC
    [Arguments(100)] // the compressed lines
    public async Task A_flipped_byte_in_a_record_skips_that_record_only(int at)
    {
        var (path, batches) = WriteThree();
        var file = File.ReadAllBytes(path);
        var middle = SegmentReader.Scan(file, MaxRaw).Records[1];
        file[middle.Offset + at] ^= 0x40;

        var scan = SegmentReader.Scan(file, MaxRaw);

        await Assert.That(LinesOf(file, scan)).IsEquivalentTo([batches[0], batches[2]]);
        await Assert.That(scan.CorruptRegions).IsEqualTo(1);
        await Assert.That(scan.TornBytes).IsEqualTo(0);
    }

    [Test]
    public async Task Garbage_appended_is_a_torn_tail_and_replays_nothing()
    {
        var (path, batches) = WriteThree();
        var file = File.ReadAllBytes(path).Concat(Encoding.ASCII.GetBytes("PGWRgarbage that is not a record")).ToArray();

        var scan = SegmentReader.Scan(file, MaxRaw);

        await Assert.That(LinesOf(file, scan)).IsEquivalentTo(batches);
        await Assert.That(scan.TornBytes).IsEqualTo(32);
    }

    [Test]
    public async Task Empty_foreign_and_newer_files_are_told_apart_and_yield_nothing()
    {
        var (path, _) = WriteThree();
        var file = File.ReadAllBytes(path);
        var newer = (byte[])file.Clone();
        newer[8] = 2;

        await Assert.That(SegmentReader.Scan([], MaxRaw).State).IsEqualTo(SegmentState.Empty);
        await Assert.That(SegmentReader.Scan(file[..10], MaxRaw).State).IsEqualTo(SegmentState.Empty);
        await Assert.That(SegmentReader.Scan(Encoding.ASCII.GetBytes("a.b 1 1700000000\nc.d 2 1700000000\n"), MaxRaw).State).IsEqualTo(SegmentState.NotASegment);
        var scan = SegmentReader.Scan(newer, MaxRaw);
        await Assert.That(scan.State).IsEqualTo(SegmentState.NewerVersion);
        await Assert.That(scan.Records).IsEmpty();
        await Assert.That(SegmentReader.Scan(file[..SegmentFormat.FileHeaderLength], MaxRaw).Records).IsEmpty();
    }

    /// <summary>Property: whatever is done to the bytes, reading never throws and never yields lines that were not written.</summary>
    [Test]
    public async Task Random_damage_never_throws_and_never_invents_lines()
    {
        var (path, batches) = WriteThree();
        var original = File.ReadAllBytes(path);
        var random = new Random(11);
        for (int round = 0; round < 500; round++)
        {
            var file = (byte[])original.Clone();
            int damage = random.Next(1, 8);
            for (int d = 0; d < damage; d++)
                file[random.Next(file.Length)] = (byte)random.Next(256);
            if (random.Next(4) == 0)
                file = file[..random.Next(file.Length)];
            var scan = SegmentReader.Scan(file, MaxRaw);
            foreach (var record in scan.Records)
            {
                var lines = SegmentReader.ReadLines(file, record);
                if (lines is not null)
                    await Assert.That(batches).Contains(Encoding.ASCII.GetString(lines));
            }
        }
    }

    [Test]
    public async Task Directory_names_are_distinct_per_instance_and_stay_inside_the_spool()
    {
        string a = SpoolDirectory.DirectoryName("10.0.0.5:2003:a");
        string b = SpoolDirectory.DirectoryName("10.0.0.5:2003:b");
        string plain = SpoolDirectory.DirectoryName("10.0.0.5:2003");
        string hostile = SpoolDirectory.DirectoryName("../../etc:1:x/y");

        await Assert.That(new[] { a, b, plain }.Distinct().Count()).IsEqualTo(3);
        await Assert.That(a).StartsWith("10.0.0.5_2003_a-");
        await Assert.That(hostile).DoesNotContain("/");
        await Assert.That(Path.GetFileName(Path.Combine("/spool", hostile))).IsEqualTo(hostile);
    }
}
