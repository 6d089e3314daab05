using System.Diagnostics;
using Polymur.Gateway.Configuration;
using Polymur.Gateway.Outputs;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Spool;

/// <summary>Hash-route to three sinks under load, one of them down for a minute: nothing lost, the others unaffected.</summary>
[Category("faults")]
[NotInParallel]
public class HashRouteOutageTests
{
    private const int DownSeconds = 60;

    // 600,000 lines/s in all: what the issue asks for, paced so the spool stays near 100 MB and replays in seconds.
    private const int BatchesPerSecondPerSender = 60;

    [Test]
    [Timeout(400_000)]
    public async Task One_of_three_down_for_a_minute_loses_nothing_and_the_spool_empties(CancellationToken cancel)
    {
        var sinks = new[] { CountingSink.Start(), CountingSink.Start(), CountingSink.Start() };
        int downPort = sinks[2].Port;
        string spoolDir = Directory.CreateTempSubdirectory("pgw-hashoutage-").FullName;
        await using var gw = await TestGateway.StartAsync([], o => o with
        {
            Distribution = Distribution.CarbonCh,
            Destinations = [.. sinks.Select((s, i) => new DestinationAddress("127.0.0.1", s.Port, $"d{i}"))],
            SpoolDir = spoolDir,
            SpoolReplayRate = 3_000_000,
        });
        // Eight distinct 5000-line batches, gzipped once and posted over and over.
        var texts = Enumerable.Range(0, 8).Select(b => ProxyClient.Lines($"outage.b{b}", 5000)).ToArray();
        var bodies = texts.Select(ProxyClient.Gzip).ToArray();
        var timesSent = new long[bodies.Length];
        var destinations = gw.App.Destinations.Current;
        long sent = 0;
        using var stop = new CancellationTokenSource();
        var clock = Stopwatch.StartNew();

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
                    Interlocked.Add(ref sent, 5000);
                    Interlocked.Increment(ref timesSent[b]);
                }
                var ahead = TimeSpan.FromSeconds((n + 1.0) / BatchesPerSecondPerSender) - paced.Elapsed;
                if (ahead > TimeSpan.Zero)
                    await Task.Delay(ahead);
            }
        }
        var senders = Enumerable.Range(0, 2).Select(SenderAsync).ToArray();

        await Task.Delay(3000, cancel);
        await sinks[2].DisposeAsync();
        long beforeOutage = sinks[2].Lines;
        var firstLife = sinks[2].Tally();
        var outage = Stopwatch.StartNew();
        await Task.Delay(TimeSpan.FromSeconds(DownSeconds), cancel);
        // The two that stayed up kept pace the whole time: what was routed to them is what they have.
        long behindA = destinations[0].Counters.Routed - sinks[0].Lines, behindB = destinations[1].Counters.Routed - sinks[1].Lines;
        long spooled = destinations[2].Counters.SpoolPending;
        sinks[2] = CountingSink.Start(downPort);
        await Task.Delay(2000, cancel);
        stop.Cancel();
        await Task.WhenAll(senders);
        double rate = Interlocked.Read(ref sent) / clock.Elapsed.TotalSeconds;

        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (destinations.Any(d => d.Counters.Queued > 0 || d.Counters.SpoolPending > 0) && DateTime.UtcNow < deadline)
            await Task.Delay(100, cancel);
        await Task.Delay(500, cancel);

        Console.WriteLine($"hash-route outage: {sent} lines accepted at {rate:0} lines/s; {spooled} spooled during the {DownSeconds} s outage; the others {behindA} and {behindB} lines behind at its end");
        await Assert.That(rate).IsGreaterThan(500_000);
        await Assert.That(spooled).IsGreaterThan(0);
        for (int i = 0; i < 3; i++)
        {
            var c = destinations[i].Counters;
            await Assert.That(c.DroppedTotal).IsEqualTo(0);
            await Assert.That(c.SpoolPending).IsEqualTo(0);
            await Assert.That(c.Delivered).IsEqualTo(c.Routed);
        }
        // Every line arrived at least as often as it was sent. A few arrived twice: the lines a connection carried
        // last are sent again when it is lost (the down sink discarded what it had not read).
        var tally = new Dictionary<ulong, long>(firstLife);
        foreach (var sink in sinks)
            foreach (var (hash, count) in sink.Tally())
                tally[hash] = tally.GetValueOrDefault(hash) + count;
        long missing = 0;
        for (int b = 0; b < texts.Length; b++)
            foreach (string line in texts[b].TrimEnd('\n').Split('\n'))
                missing += Math.Max(0, timesSent[b] - tally.GetValueOrDefault(CountingSink.Hash(System.Text.Encoding.ASCII.GetBytes(line))));
        long extra = sinks.Sum(s => s.Lines) + beforeOutage - Interlocked.Read(ref sent);
        long resent = destinations.Sum(d => d.Counters.Resent);
        Console.WriteLine($"hash-route outage: {missing} lines missing, {extra} duplicates, {resent} lines sent again after the connection loss");
        await Assert.That(missing).IsEqualTo(0);
        await Assert.That(extra).IsGreaterThanOrEqualTo(0);
        await Assert.That(extra).IsLessThanOrEqualTo(resent);
        await Assert.That(behindA + behindB).IsLessThan(200_000); // no more than what is in flight at any moment
        await Assert.That(Directory.GetFiles(spoolDir, "*.spool", SearchOption.AllDirectories)).IsEmpty();
        foreach (var sink in sinks)
            await sink.DisposeAsync();
    }
}
