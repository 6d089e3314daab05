using System.Diagnostics;
using Polymur.Gateway.Configuration;
using Polymur.Gateway.Outputs;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Outputs;

/// <summary>
/// A real carbon-cache that stops answering under load: every packet to it dropped (iptables on loopback), no FIN,
/// no RST, as a host that lost power. The gateway must see it within -destination-timeout + 2 s, count nothing as
/// delivered that carbon did not get, and, once it answers again, account for every line: with the spool all of
/// them arrive; without it, what did not arrive is exactly what was counted as dropped.
/// </summary>
[NotInParallel("carbon-cache")]
[Category("faults")]
public class DeadPeerTests
{
    private const int Series = 1000, BatchesPerSecond = 5; // 5,000 lines/s, one point per series per batch
    private static readonly TimeSpan DestinationTimeout = TimeSpan.FromSeconds(2);

    [Test]
    [Arguments(true)]
    [Arguments(false)]
    [Timeout(240_000)]
    public async Task A_blackholed_carbon_cache_is_declared_down_in_time_and_nothing_it_did_not_get_counts_as_delivered(bool spool, CancellationToken cancel)
    {
        await using var carbon = await CarbonCache.StartAsync();
        await using var gw = await TestGateway.StartAsync([], o => o with
        {
            Destinations = [new DestinationAddress("127.0.0.1", carbon.LinePort, null)],
            DestinationTimeout = DestinationTimeout,
            SpoolDir = spool ? Directory.CreateTempSubdirectory("pgw-blackhole-").FullName : null,
        });
        var destination = gw.App.Destinations.Current[0];
        string run = $"r{Guid.NewGuid():N}"[..9];
        // Batch k carries timestamp start + k for every series: each line is one whisper point of its own.
        long start = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 450;
        var accepted = new List<int>();
        using var stop = new CancellationTokenSource();
        var load = Task.Run(async () =>
        {
            using var client = gw.Client();
            var paced = Stopwatch.StartNew();
            for (int k = 0; !stop.IsCancellationRequested; k++)
            {
                var reply = await client.IngestAsync("123", string.Concat(Enumerable.Range(0, Series).Select(i => $"bh.{run}.s{i} {k} {start + k}\n")));
                if (reply.Status == 200)
                {
                    lock (accepted)
                        accepted.Add(k);
                }
                var ahead = TimeSpan.FromSeconds((k + 1.0) / BatchesPerSecond) - paced.Elapsed;
                if (ahead > TimeSpan.Zero)
                    await Task.Delay(ahead);
            }
        });

        await Assert.That(await Poll.UntilAsync(() => destination.Counters.Delivered >= 5 * Series, TimeSpan.FromSeconds(30))).IsTrue();
        long deliveredBefore = destination.Counters.Delivered;
        TimeSpan? detection;
        long deliveredDuring;
        await using (var hole = await Blackhole.StartAsync(carbon.LinePort))
        {
            detection = await Poll.TimeAsync(() => Task.FromResult(destination.Down && !destination.Connected), DestinationTimeout + TimeSpan.FromSeconds(15));
            // Stay dark a while longer: reconnects time out, and the load goes on.
            await Task.Delay(DestinationTimeout * 2, cancel);
            deliveredDuring = destination.Counters.Delivered - deliveredBefore;
            await Assert.That(destination.Down).IsTrue();
        }
        await Assert.That(await Poll.UntilAsync(() => destination.Connected, TimeSpan.FromSeconds(30))).IsTrue();
        await Task.Delay(2000, cancel);
        stop.Cancel();
        await load;
        await Assert.That(await Poll.UntilAsync(() => destination.Counters.Queued == 0 && destination.Counters.SpoolPending == 0, TimeSpan.FromSeconds(60))).IsTrue();

        var c = destination.Counters;
        int[] ok;
        lock (accepted)
            ok = [.. accepted];
        long acceptedLines = (long)ok.Length * Series;
        // Carbon writes whisper files behind its cache: wait until it holds what was delivered.
        var (arrived, foreign) = await ArrivedAsync(carbon, run, start, ok, c.Delivered);
        Console.WriteLine($"blackhole{(spool ? " with spool" : "")}: detected after {detection?.TotalSeconds:0.00} s (timeout {DestinationTimeout.TotalSeconds} s); "
            + $"delivered grew by {deliveredDuring} lines while dark; accepted {acceptedLines}, delivered {c.Delivered}, arrived {arrived}, lost {acceptedLines - arrived}, "
            + $"dropped {c.DroppedTotal}, spooled {c.Spooled}, resent {c.Resent} (the most that can be duplicates), timeouts {c.Timeouts}");

        await Assert.That(detection).IsNotNull();
        await Assert.That(detection!.Value).IsLessThanOrEqualTo(DestinationTimeout + TimeSpan.FromSeconds(2));
        // While dark, only what carbon had acknowledged just before the rule can still be counted: a batch or two.
        await Assert.That(deliveredDuring).IsLessThanOrEqualTo(2 * Series);
        await Assert.That(c.Timeouts).IsGreaterThanOrEqualTo(1);
        await Assert.That(gw.Logs.Lines.Count(l => l.Contains("declared down"))).IsEqualTo(1);
        // Delivered against arrived: every line counted as delivered is in carbon, and nothing else is.
        await Assert.That(arrived).IsEqualTo(c.Delivered);
        await Assert.That(foreign).IsEqualTo(0);
        await Assert.That(c.Routed).IsEqualTo(c.Delivered + c.DroppedTotal + c.Queued + c.SpoolPending);
        if (spool)
        {
            await Assert.That(c.Spooled).IsGreaterThan(0);
            await Assert.That(arrived).IsEqualTo(acceptedLines); // lost: 0
            await Assert.That(c.DroppedTotal).IsEqualTo(0);
        }
        else
        {
            await Assert.That(acceptedLines - arrived).IsEqualTo(c.DroppedTotal); // every line lost was counted
        }
    }

    /// <summary>
    /// An idle connection (nothing outstanding, so no acknowledgement to wait for) to a host that vanished: the
    /// keepalive probes, bounded by TCP_USER_TIMEOUT, end it within the timeout and a probe interval.
    /// </summary>
    [Test]
    [Timeout(60_000)]
    public async Task An_idle_connection_to_a_blackholed_destination_is_declared_down_by_keepalive(CancellationToken cancel)
    {
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink, o => o with { DestinationTimeout = DestinationTimeout });
        var destination = gw.App.Destinations.Current[0];
        using var client = gw.Client();
        await Assert.That((await client.IngestAsync("123", ProxyClient.Lines("idle", 10))).Status).IsEqualTo(200);
        await Assert.That(await Poll.UntilAsync(() => destination.Counters.Delivered == 10, TimeSpan.FromSeconds(10))).IsTrue();

        await using var hole = await Blackhole.StartAsync(sink.Port);
        var detection = await Poll.TimeAsync(() => Task.FromResult(destination.Down && !destination.Connected), DestinationTimeout + TimeSpan.FromSeconds(15));
        Console.WriteLine($"idle blackhole: detected after {detection?.TotalSeconds:0.00} s (timeout {DestinationTimeout.TotalSeconds} s)");
        await Assert.That(detection).IsNotNull();
        await Assert.That(detection!.Value).IsLessThanOrEqualTo(DestinationTimeout + TimeSpan.FromSeconds(2));
        await Assert.That(destination.Counters.Timeouts).IsEqualTo(1);
    }

    // Distinct points carbon stored for the accepted batches, and any for batches that were not accepted; read until
    // they reach what was delivered or stop changing for 10 s.
    private static async Task<(long Arrived, long Foreign)> ArrivedAsync(CarbonCache carbon, string run, long start, int[] accepted, long delivered)
    {
        var wanted = accepted.Select(k => start + k).ToHashSet();
        long last = -1;
        var changed = Stopwatch.StartNew();
        while (true)
        {
            long arrived = 0, foreign = 0;
            for (int i = 0; i < Series; i++)
            {
                foreach (long time in carbon.StoredTimes($"bh.{run}.s{i}"))
                {
                    if (wanted.Contains(time))
                        arrived++;
                    else if (time >= start)
                        foreign++;
                }
            }
            if (arrived >= delivered || changed.Elapsed > TimeSpan.FromSeconds(10))
                return (arrived, foreign);
            if (arrived != last)
            {
                last = arrived;
                changed.Restart();
            }
            await Task.Delay(500);
        }
    }
}
