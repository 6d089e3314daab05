using System.Diagnostics;
using Polymur.Gateway.Configuration;
using Polymur.Gateway.Outputs;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Spool;

/// <summary>With -spool-dir, what a destination's queue cannot take is written to disk and replayed once it is back.</summary>
public class SpoolDeliveryTests
{
    private static string NewSpoolDir() => Directory.CreateTempSubdirectory("pgw-spooldelivery-").FullName;

    private static async Task WaitUntil(Func<bool> done, int seconds = 30)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(seconds);
        while (!done() && DateTime.UtcNow < deadline)
            await Task.Delay(20);
    }

    private static async Task AssertIdentity(Destination d)
    {
        var c = d.Counters;
        await Assert.That(c.Routed).IsEqualTo(c.Delivered + c.DroppedTotal + c.Queued + c.SpoolPending);
    }

    [Test]
    public async Task A_down_destination_loses_nothing_past_its_queue_and_gets_everything_once_back()
    {
        int port = Posix.FreePort(); // nothing listens there: the destination is down
        string spoolDir = NewSpoolDir();
        await using var gw = await TestGateway.StartAsync([], o => o with
        {
            Destinations = [new DestinationAddress("127.0.0.1", port, null)],
            OutgoingQueueCap = 1000,
            SpoolDir = spoolDir,
        });
        using var client = gw.Client();
        var destination = gw.App.Destinations.Current[0];
        await WaitUntil(() => destination.Down);

        for (int i = 0; i < 20; i++)
            await Assert.That((await client.IngestAsync("123", ProxyClient.Lines($"down.b{i}", 500))).Status).IsEqualTo(200);
        long spooledWhileDown = destination.Counters.SpoolPending;
        await AssertIdentity(destination);

        await using var sink = TcpSink.Start(port);
        await WaitUntil(() => destination.Counters.Delivered == 10_000);
        var got = await sink.SettleAsync();

        await Assert.That(spooledWhileDown).IsGreaterThanOrEqualTo(10_000 - 1500);
        await Assert.That(destination.Counters.DroppedTotal).IsEqualTo(0);
        await Assert.That(got.Count).IsEqualTo(10_000);
        await Assert.That(got.ToHashSet().Count).IsEqualTo(10_000);
        await Assert.That(destination.Counters.SpoolPending).IsEqualTo(0);
        await Assert.That(Directory.GetFiles(spoolDir, "*.spool", SearchOption.AllDirectories)).IsEmpty();
        await AssertIdentity(destination);
        // Replayed lines came from the batch pool; once the writer stops (and lets go of its resend window) every
        // buffer is back.
        await gw.App.StopAsync();
        await Assert.That(gw.App.Stats.Take().Buffers.InUseBytes).IsEqualTo(0);
    }

    [Test]
    public async Task A_slow_destination_makes_no_request_wait_or_get_503_while_the_spool_has_room()
    {
        await using var stalled = new StalledSink();
        await using var gw = await TestGateway.StartAsync([], o => o with
        {
            Destinations = [new DestinationAddress("127.0.0.1", stalled.Port, null)],
            OutgoingQueueCap = 5000,
            QueueWait = TimeSpan.FromSeconds(5),
            SpoolDir = NewSpoolDir(),
        });
        using var client = gw.Client();
        var destination = gw.App.Destinations.Current[0];

        var watch = Stopwatch.StartNew();
        for (int i = 0; i < 60; i++)
            await Assert.That((await client.IngestAsync("123", ProxyClient.Lines($"slow.b{i}", 5000))).Status).IsEqualTo(200);
        Console.WriteLine($"60 batches to a stalled destination with a spool: {watch.Elapsed.TotalSeconds:0.00} s; {destination.Counters.SpoolPending} points spooled");

        await Assert.That(destination.Connected).IsTrue();
        await Assert.That(destination.Counters.SpoolPending).IsGreaterThan(0);
        await Assert.That(watch.Elapsed).IsLessThan(TimeSpan.FromSeconds(5)); // never one -queue-wait
        stalled.Resume();
        await WaitUntil(() => stalled.Lines == 300_000, 60);
        await Assert.That(stalled.Lines).IsEqualTo(300_000);
        await AssertIdentity(destination);
    }

    [Test]
    public async Task Replay_keeps_to_its_rate_and_live_lines_flow_beside_it()
    {
        int port = Posix.FreePort(); // nothing listens there: the destination is down
        await using var gw = await TestGateway.StartAsync([], o => o with
        {
            Destinations = [new DestinationAddress("127.0.0.1", port, null)],
            OutgoingQueueCap = 2000,
            SpoolDir = NewSpoolDir(),
            SpoolReplayRate = 3000, // 30,000 spooled points take 10 s at least, however fast the machine
        });
        using var client = gw.Client();
        var destination = gw.App.Destinations.Current[0];
        await WaitUntil(() => destination.Down);
        for (int i = 0; i < 30; i++)
            await Assert.That((await client.IngestAsync("123", ProxyClient.Lines($"backlog.b{i}", 1000))).Status).IsEqualTo(200);
        long backlog = destination.Counters.SpoolPending;
        await Assert.That(backlog).IsEqualTo(30_000);

        await using var sink = TcpSink.Start(port);
        var watch = Stopwatch.StartNew();
        await WaitUntil(() => destination.Connected);
        // Live batches while the backlog replays: each is delivered without waiting for the backlog. The order in
        // the sink shows it, not a clock: every live line arrives before the backlog's last line.
        for (int i = 0; i < 5; i++)
            await Assert.That((await client.IngestAsync("123", ProxyClient.Lines($"live.b{i}", 100))).Status).IsEqualTo(200);
        await WaitUntil(() => destination.Counters.SpoolPending == 0, 120);
        double seconds = watch.Elapsed.TotalSeconds;
        double rate = backlog / seconds;
        await Assert.That(await sink.WaitForAsync(30_500, TimeSpan.FromSeconds(30))).IsTrue();
        var lines = (await sink.SettleAsync()).ToList(); // and nothing more
        int lastLive = lines.FindLastIndex(l => l.StartsWith("live.", StringComparison.Ordinal));
        int lastBacklog = lines.FindLastIndex(l => l.StartsWith("backlog.", StringComparison.Ordinal));
        Console.WriteLine($"replay: {backlog} spooled points in {seconds:0.0} s = {rate:0} points/s against a limit of 3000; last live line at {lastLive}, last backlog line at {lastBacklog}");

        await Assert.That(lines.Count(l => l.StartsWith("live.", StringComparison.Ordinal))).IsEqualTo(500);
        await Assert.That(lastLive).IsLessThan(lastBacklog);
        await Assert.That(rate).IsLessThan(3000 * 1.3); // a ceiling: a slow machine only replays slower
        await Assert.That(lines.Count).IsEqualTo(30_500);
    }

    [Test]
    public async Task A_full_spool_refuses_a_down_destinations_batches_with_503_instead_of_dropping_them()
    {
        int port = Posix.FreePort(); // nothing listens there: the destination is down
        await using var gw = await TestGateway.StartAsync([], o => o with
        {
            Destinations = [new DestinationAddress("127.0.0.1", port, null)],
            OutgoingQueueCap = 100,
            SpoolDir = NewSpoolDir(),
            SpoolMaxSize = 64 << 10,
        });
        using var client = gw.Client();
        var destination = gw.App.Destinations.Current[0];
        await WaitUntil(() => destination.Down);

        int refused = 0;
        for (int i = 0; i < 40; i++)
            refused += (await client.IngestAsync("123", ProxyClient.Lines($"full.b{i}", 1000))).Status == 503 ? 1 : 0;

        await Assert.That(refused).IsGreaterThan(0);
        await Assert.That(destination.Counters.Refused).IsEqualTo(refused * 1000L);
        await Assert.That(destination.Counters.DroppedTotal).IsEqualTo(0);
        await Assert.That(destination.Counters.SpoolPending).IsGreaterThan(0);
        await Assert.That(gw.App.Spools!.Budget.UsedBytes).IsLessThanOrEqualTo(64 << 10);
        await AssertIdentity(destination);
    }
}

/// <summary>Spools outliving their destination: kept, reported, and replayed when it comes back.</summary>
public class SpoolOrphanTests
{
    [Test]
    public async Task A_removed_destination_keeps_its_spool_an_orphan_is_reported_and_adding_it_back_replays()
    {
        int port = Posix.FreePort(); // nothing listens there: the destination is down
        string spoolDir = Directory.CreateTempSubdirectory("pgw-orphan-").FullName;
        var address = new DestinationAddress("127.0.0.1", port, null);
        await using var keep = TcpSink.Start();
        await using (var gw = await TestGateway.StartAsync([keep], o => o with { Destinations = [.. o.Destinations, address], OutgoingQueueCap = 100, SpoolDir = spoolDir }))
        {
            var gone = gw.App.Destinations.Current.Single(d => d.Name == address.Name);
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (!gone.Down && DateTime.UtcNow < deadline)
                await Task.Delay(20);
            using var client = gw.Client();
            for (int i = 0; i < 5; i++)
                await client.IngestAsync("123", ProxyClient.Lines($"orphan.b{i}", 1000));
            using var admin = gw.AdminClient();
            await Assert.That((await admin.DeleteAsync($"/destinations/{address.Name}")).StatusCode).IsEqualTo(System.Net.HttpStatusCode.OK);
            await Assert.That(gone.Counters.DroppedTotal).IsEqualTo(0);
        }
        await Assert.That(Directory.GetFiles(spoolDir, "*.spool", SearchOption.AllDirectories)).IsNotEmpty();

        await using var restarted = await TestGateway.StartAsync([keep], o => o with { SpoolDir = spoolDir });
        using var stats = restarted.StatsClient();
        string json = await stats.GetStringAsync("/stats");
        await Assert.That(restarted.Logs.All).Contains($"Spool of {address.Name} is kept but not replayed");
        await Assert.That(json).Contains($"\"destination\": \"{address.Name}\"");

        await using var back = TcpSink.Start(port);
        using var api = restarted.AdminClient();
        var add = await api.PostAsync("/destinations", new StringContent($"{{\"address\":\"{address.Name}\"}}", System.Text.Encoding.UTF8, "application/json"));
        await Assert.That(add.StatusCode).IsEqualTo(System.Net.HttpStatusCode.Created);
        await Assert.That(await back.WaitForAsync(5000, TimeSpan.FromSeconds(20))).IsTrue();
        await Assert.That((await back.SettleAsync()).ToHashSet().Count).IsEqualTo(5000);
    }
}
