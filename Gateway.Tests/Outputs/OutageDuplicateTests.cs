using System.Diagnostics;
using Polymur.Gateway.Configuration;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Outputs;

/// <summary>
/// The outage scenario of issue 22: hash-route to two sinks at about 100,000 lines/s with the spool, one sink down
/// for 15 s. Only lines its TCP had not acknowledged are sent again, so duplicates stay under 1% (the fixed resend
/// window this replaced sent 6.9% twice here, 11% in the issue). The sink goes down as a crashing carbon does:
/// what sat unread in its receive buffer is discarded, which is the one gap left (acknowledged, never read); its
/// buffer is set to 64 KiB so that this loss has a known bound.
/// </summary>
[Category("faults")]
[NotInParallel]
public class OutageDuplicateTests
{
    private const int DownSeconds = 15, LinesPerBatch = 5000;
    private const int BatchesPerSecondPerSender = 10; // two senders: 100,000 lines/s
    private const int ReceiveBuffer = 64 * 1024;

    [Test]
    [Timeout(300_000)]
    public async Task One_of_two_down_for_15_s_under_100k_lines_per_second_sends_under_1_percent_twice(CancellationToken cancel)
    {
        var sinks = new[] { CountingSink.Start(receiveBuffer: ReceiveBuffer), CountingSink.Start(receiveBuffer: ReceiveBuffer) };
        int downPort = sinks[1].Port;
        string spoolDir = Directory.CreateTempSubdirectory("pgw-outagedup-").FullName;
        await using var gw = await TestGateway.StartAsync([], o => o with
        {
            Distribution = Distribution.CarbonCh,
            Destinations = [.. sinks.Select((s, i) => new DestinationAddress("127.0.0.1", s.Port, $"d{i}"))],
            SpoolDir = spoolDir,
            SpoolReplayRate = 1_000_000,
        });
        var texts = Enumerable.Range(0, 8).Select(b => ProxyClient.Lines($"dup.b{b}", LinesPerBatch)).ToArray();
        var bodies = texts.Select(ProxyClient.Gzip).ToArray();
        var timesSent = new long[bodies.Length];
        var destinations = gw.App.Destinations.Current;
        long sent = 0;
        using var stop = new CancellationTokenSource();

        async Task SenderAsync(int id)
        {
            using var client = gw.Client();
            var paced = Stopwatch.StartNew();
            for (int n = 0; !stop.IsCancellationRequested; n++)
            {
                int b = (2 * n + id) % bodies.Length;
                var reply = await client.SendAsync("/ingest", "123", bodies[b]);
                if (reply.Status == 200)
                {
                    Interlocked.Add(ref sent, LinesPerBatch);
                    Interlocked.Increment(ref timesSent[b]);
                }
                var ahead = TimeSpan.FromSeconds((n + 1.0) / BatchesPerSecondPerSender) - paced.Elapsed;
                if (ahead > TimeSpan.Zero)
                    await Task.Delay(ahead);
            }
        }
        var senders = Enumerable.Range(0, 2).Select(SenderAsync).ToArray();

        await Task.Delay(3000, cancel);
        await sinks[1].DisposeAsync();
        var firstLife = sinks[1].Tally();
        long firstLifeLines = sinks[1].Lines;
        await Task.Delay(TimeSpan.FromSeconds(DownSeconds), cancel);
        sinks[1] = CountingSink.Start(downPort, ReceiveBuffer);
        await Task.Delay(3000, cancel);
        stop.Cancel();
        await Task.WhenAll(senders);
        await Assert.That(await Poll.UntilAsync(() => destinations.All(d => d.Counters.Queued == 0 && d.Counters.SpoolPending == 0), TimeSpan.FromSeconds(120))).IsTrue();
        long total = Interlocked.Read(ref sent);
        // Everything is acknowledged; wait for the sinks to have read it all (their count stands still for a second).
        long arrived = -1;
        for (var settle = Stopwatch.StartNew(); settle.Elapsed < TimeSpan.FromSeconds(30) && sinks.Sum(s => s.Lines) != arrived;)
        {
            arrived = sinks.Sum(s => s.Lines);
            await Task.Delay(1000, cancel);
        }

        var tally = new Dictionary<ulong, long>(firstLife);
        foreach (var sink in sinks)
            foreach (var (hash, count) in sink.Tally())
                tally[hash] = tally.GetValueOrDefault(hash) + count;
        long missing = 0, duplicates = 0;
        for (int b = 0; b < texts.Length; b++)
        {
            foreach (string line in texts[b].TrimEnd('\n').Split('\n'))
            {
                long got = tally.GetValueOrDefault(CountingSink.Hash(System.Text.Encoding.ASCII.GetBytes(line)));
                missing += Math.Max(0, timesSent[b] - got);
                duplicates += Math.Max(0, got - timesSent[b]);
            }
        }
        long resent = destinations.Sum(d => d.Counters.Resent);
        // Linux doubles SO_RCVBUF for its bookkeeping; a line is about 31 bytes.
        long unreadBound = 2 * ReceiveBuffer / (ProxyClient.Lines("dup.b0", LinesPerBatch).Length / LinesPerBatch);
        Console.WriteLine($"outage: {total} lines accepted; {missing} missing (at most {unreadBound} can sit unread in the sink that died), {duplicates} duplicates ({100.0 * duplicates / total:0.000}%), {resent} lines sent again; "
            + $"spooled {destinations[1].Counters.Spooled}; delivered {destinations.Sum(d => d.Counters.Delivered)} of {destinations.Sum(d => d.Counters.Routed)} routed");
        await Assert.That(duplicates).IsLessThanOrEqualTo(total / 100);
        await Assert.That(missing).IsLessThanOrEqualTo(unreadBound);
        await Assert.That(duplicates).IsLessThanOrEqualTo(resent);
        foreach (var d in destinations)
            await Assert.That(d.Counters.Delivered).IsEqualTo(d.Counters.Routed);
        foreach (var sink in sinks)
            await sink.DisposeAsync();
    }
}
