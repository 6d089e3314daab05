using System.Text;
using Polymur.Gateway.Spool;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Spool;

/// <summary><c>polymur-gateway spool list|cat</c> on the real binary, over spools written by the segment writer.</summary>
public class SpoolToolTests
{
    private static string MakeSpool(out string[] batches)
    {
        string root = Directory.CreateTempSubdirectory("pgw-spooltool-").FullName;
        string directory = SpoolDirectory.For(root, "10.0.0.5:2003:a");
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, SpoolDirectory.NameFile), "10.0.0.5:2003:a\n");
        batches = [ProxyClient.Lines("tool.one", 100), ProxyClient.Lines("tool.two", 50)];
        for (int i = 0; i < batches.Length; i++)
        {
            using var writer = SegmentWriter.Create(Path.Combine(directory, SpoolDirectory.SegmentName(i + 1)));
            writer.Append(Encoding.ASCII.GetBytes(batches[i]), batches[i].Count(c => c == '\n'), DateTimeOffset.Parse($"2026-12-02T06:0{i}:00Z").ToUnixTimeMilliseconds());
        }
        return root;
    }

    [Test]
    public async Task List_shows_each_destination_with_files_bytes_points_and_times()
    {
        string root = MakeSpool(out _);

        var (code, stdout, stderr) = await GatewayProcess.RunAsync(GatewayProcess.JitBinary, ["spool", "list", root]);

        var row = stdout.Split('\n')[1].Split('\t');
        await Assert.That(code).IsEqualTo(0);
        await Assert.That(stdout).StartsWith("destination\tfiles\tbytes\tpoints\toldest\tnewest\n");
        await Assert.That(row[0]).IsEqualTo("10.0.0.5:2003:a");
        await Assert.That(row[1]).IsEqualTo("2");
        await Assert.That(row[3]).IsEqualTo("150");
        await Assert.That(row[4]).IsEqualTo("2026-12-02T06:00:00Z");
        await Assert.That(row[5]).IsEqualTo("2026-12-02T06:01:00Z");
        await Assert.That(stderr).IsEmpty();
    }

    [Test]
    public async Task Cat_prints_the_lines_oldest_first_and_skips_damage_with_a_warning()
    {
        string root = MakeSpool(out var batches);
        string directory = SpoolDirectory.For(root, "10.0.0.5:2003:a");
        File.AppendAllText(Path.Combine(directory, SpoolDirectory.SegmentName(1)), "torn");
        File.WriteAllText(Path.Combine(directory, SpoolDirectory.SegmentName(3)), "");

        var (code, stdout, stderr) = await GatewayProcess.RunAsync(GatewayProcess.JitBinary, ["spool", "cat", root, "10.0.0.5:2003:a"]);

        await Assert.That(code).IsEqualTo(0);
        // RunAsync collects stdout by line, so the last LF does not come back.
        await Assert.That(stdout).IsEqualTo((batches[0] + batches[1]).TrimEnd('\n'));
        await Assert.That(stderr).Contains("a torn tail of 4 bytes");
        await Assert.That(stderr).Contains($"{SpoolDirectory.SegmentName(3)}: empty");
    }

    [Test]
    public async Task A_missing_spool_or_destination_is_one_line_and_exit_1()
    {
        var (missingDir, _, dirError) = await GatewayProcess.RunAsync(GatewayProcess.JitBinary, ["spool", "list", "/nonexistent/spool"]);
        var (missingDest, _, destError) = await GatewayProcess.RunAsync(GatewayProcess.JitBinary, ["spool", "cat", MakeSpool(out _), "10.9.9.9:2003"]);

        await Assert.That(missingDir).IsEqualTo(1);
        await Assert.That(dirError.Trim()).IsEqualTo("polymur-gateway spool: no spool directory /nonexistent/spool");
        await Assert.That(missingDest).IsEqualTo(1);
        await Assert.That(destError).Contains("no spool for 10.9.9.9:2003");
    }
}
