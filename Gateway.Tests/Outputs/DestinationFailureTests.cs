using System.Globalization;
using System.Text.RegularExpressions;
using Polymur.Gateway.Outputs;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Outputs;

/// <summary>Destinations that go away: delivery resumes, the others are not stalled, and every point is accounted for.</summary>
public class DestinationFailureTests
{
    [Test]
    public async Task Destination_restarted_mid_test_gets_everything_sent_after_it_went_down()
    {
        var sink = TcpSink.Start();
        int port = sink.Port;
        await using var gw = await TestGateway.StartAsync(sink, o => o with { OutgoingQueueCap = 1_000_000 });
        using var client = gw.Client();

        await client.IngestAsync("123", ProxyClient.Lines("before", 1000));
        await Assert.That(await sink.WaitForAsync(1000)).IsTrue();

        await sink.DisposeAsync();
        // The writer sees the close, stops writing into the dead connection, and fails to connect again (until
        // then the sink restarted below could be reached at the first attempt, and no reconnect would be logged).
        await Assert.That(await Poll.UntilAsync(() => gw.Logs.All.Contains("unreachable"), TimeSpan.FromSeconds(10))).IsTrue();
        await Assert.That(gw.App.Destinations.Current[0].Connected).IsFalse();
        var during = await client.IngestAsync("123", ProxyClient.Lines("during", 2000));
        await Assert.That(during.Status).IsEqualTo(200);

        await using var restarted = TcpSink.Start(port);
        await client.IngestAsync("123", ProxyClient.Lines("after", 1000));

        await Assert.That(await restarted.WaitForAsync(3000)).IsTrue();
        var got = await restarted.SettleAsync();
        await Assert.That(got.Count(l => l.StartsWith("during.", StringComparison.Ordinal))).IsEqualTo(2000);
        await Assert.That(got.Count(l => l.StartsWith("after.", StringComparison.Ordinal))).IsEqualTo(1000);
        await Assert.That(gw.Logs.All).Contains("disconnected");
        await Assert.That(gw.Logs.All).Contains("connected after");
    }

    [Test]
    public async Task Down_destination_does_not_stall_the_others_and_its_drops_are_counted()
    {
        await using var up = TcpSink.Start();
        var downSink = TcpSink.Start();
        int downPort = downSink.Port;
        await downSink.DisposeAsync();
        // A long -queue-wait: the destination that is up may be slow to drain on a loaded machine, and a wait for
        // it is back-pressure, not a stall; a request waiting for the down one would still end in 503.
        await using var gw = await TestGateway.StartAsync([up, downSink], o => o with { OutgoingQueueCap = 12_000, QueueWait = TimeSpan.FromSeconds(30) });
        using var client = gw.Client();
        var down = gw.App.Destinations.Current[1];
        // A new destination is not down until its first connect fails, and until then a full queue is waited for
        // (it may be about to connect). What the gateway promises is about a destination known to be down.
        await Assert.That(await Poll.UntilAsync(() => down.Down, TimeSpan.FromSeconds(10))).IsTrue();

        for (int i = 0; i < 10; i++)
            await Assert.That((await client.IngestAsync("123", ProxyClient.Lines($"b{i}", 5000))).Status).IsEqualTo(200);

        await Assert.That(await up.WaitForAsync(50_000)).IsTrue();
        await Assert.That(down.Name).IsEqualTo($"127.0.0.1:{downPort}");
        // Admitted while under 12,000 queued points: three batches; the other seven were dropped and counted.
        await Assert.That(down.Counters.Routed).IsEqualTo(50_000);
        await Assert.That(down.Counters.Dropped(DropReason.QueueFull)).IsEqualTo(35_000);
        await Assert.That(down.Counters.Queued).IsEqualTo(15_000);
        await Assert.That(down.Counters.Delivered + down.Counters.DroppedTotal + down.Counters.Queued).IsEqualTo(down.Counters.Routed);
        // Reported at most once per interval, so the drops may be logged in more than one line (the flake: the
        // report fell between the 4th and the 5th batch, "5000 ... (5000 in all)"); the last line has the total.
        await Assert.That(await Poll.UntilAsync(() => gw.Logs.All.Contains($"queue full (35000 in all)"), TimeSpan.FromSeconds(10))).IsTrue();
        long logged = gw.Logs.Lines.Select(l => Regex.Match(l, $@"Destination 127\.0\.0\.1:{downPort}: (\d+) points dropped, queue full"))
            .Where(m => m.Success).Sum(m => long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));
        await Assert.That(logged).IsEqualTo(35_000);
    }

    [Test]
    public async Task Incoming_queue_cap_reached_is_503_not_a_silent_drop()
    {
        var downSink = TcpSink.Start();
        await downSink.DisposeAsync();
        await using var gw = await TestGateway.StartAsync(downSink, o => o with { IncomingQueueCap = 2, TenantMaxInflight = 3, OutgoingQueueCap = 1_000_000 });
        using var client = gw.Client();

        var first = await client.IngestAsync("123", ProxyClient.Lines("a", 10));
        var second = await client.IngestAsync("123", ProxyClient.Lines("b", 10));
        var third = await client.IngestAsync("123", ProxyClient.Lines("c", 10));

        await Assert.That(first.Status).IsEqualTo(200);
        await Assert.That(second.Status).IsEqualTo(200);
        await Assert.That(third.Status).IsEqualTo(503);
        await Assert.That(third.Body).IsEqualTo("gateway busy: 2 batches in flight (-incoming-queue-cap)\n");
        await Assert.That(gw.App.Counters.Refused(503)).IsEqualTo(1);
        await Assert.That(gw.App.Counters.LinesReceived).IsEqualTo(20);
    }

    [Test]
    public async Task No_destinations_is_503()
    {
        await using var gw = await TestGateway.StartAsync([]);
        using var client = gw.Client();

        var reply = await client.IngestAsync("123", "a 1 1\n");

        await Assert.That(reply.Status).IsEqualTo(503);
        await Assert.That(reply.Body).IsEqualTo("no destinations to deliver to\n");
    }
}

public class DestinationKilledUnderLoadTests
{
    [Test]
    public async Task Killed_and_restarted_under_load_the_others_get_everything_and_every_point_is_accounted()
    {
        await using var steady = TcpSink.Start();
        var flaky = TcpSink.Start();
        int flakyPort = flaky.Port;
        await using var gw = await TestGateway.StartAsync([steady, flaky], o => o with { OutgoingQueueCap = 20_000, QueueWait = TimeSpan.FromSeconds(2) });
        using var client = gw.Client();
        long acceptedLines = 0;
        using var stop = new CancellationTokenSource();

        var load = Task.Run(async () =>
        {
            for (int n = 0; !stop.IsCancellationRequested; n++)
            {
                if ((await client.IngestAsync("123", ProxyClient.Lines($"l{n}", 2000))).Status == 200)
                    Interlocked.Add(ref acceptedLines, 2000);
            }
        });
        await Task.Delay(500);
        await flaky.DisposeAsync();
        await Task.Delay(1000);
        await using var restarted = TcpSink.Start(flakyPort);
        await Task.Delay(1000);
        stop.Cancel();
        await load;

        await Assert.That(await steady.WaitForAsync((int)acceptedLines, TimeSpan.FromSeconds(20))).IsTrue();
        await Assert.That((await steady.SettleAsync()).Count).IsEqualTo((int)acceptedLines);
        await gw.App.StopAsync();
        foreach (var d in gw.App.Destinations.Current)
        {
            var c = d.Counters;
            await Assert.That(c.Routed).IsEqualTo(acceptedLines);
            await Assert.That(c.Delivered + c.Dropped(DropReason.QueueFull) + c.Dropped(DropReason.ShutdownTimeout) + c.Dropped(DropReason.DestinationRemoved) + c.Queued).IsEqualTo(c.Routed);
            await Assert.That(c.Queued).IsEqualTo(0);
        }
        await Assert.That(restarted.Count).IsGreaterThan(0);
        await Assert.That(gw.App.Counters.LinesReceived).IsEqualTo(acceptedLines);
    }
}
