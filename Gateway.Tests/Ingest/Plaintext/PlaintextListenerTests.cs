using System.Net;
using System.Net.Sockets;
using System.Text;
using Polymur.Gateway.Configuration;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Ingest.Plaintext;

/// <summary>-listen-tcp-port over real sockets: framing, limits, back-pressure, and a real carbon-c-relay sending to it.</summary>
public class PlaintextListenerTests
{
    private static Task<TestGateway> StartAsync(IEnumerable<TcpSink> sinks, Func<GatewayOptions, GatewayOptions>? configure = null) =>
        TestGateway.StartAsync(sinks, o => (configure ?? (x => x))(o with { TcpPort = 0, TcpTenant = "edge" }));

    private static async Task<Socket> ConnectAsync(TestGateway gw)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(gw.App.PlaintextEndpoint!);
        return socket;
    }

    private static async Task SendAsync(TestGateway gw, string text)
    {
        using var socket = await ConnectAsync(gw);
        await socket.SendAsync(Encoding.ASCII.GetBytes(text));
        socket.Shutdown(SocketShutdown.Send);
        // The gateway closes its side once it has queued what it read.
        var buffer = new byte[16];
        while (await socket.ReceiveAsync(buffer) > 0)
        {
        }
    }

    [Test]
    public async Task Lines_are_routed_under_the_tenant_and_a_last_line_without_lf_is_dropped()
    {
        await using var sink = TcpSink.Start();
        await using var gw = await StartAsync([sink], o => o with { KeyPrefix = true });

        await SendAsync(gw, "a.b 1 1700000000\r\nnot a line\n\nc.d 2.5 1700000001\ne.f 3 1700000002");

        await Assert.That(await sink.WaitForAsync(2)).IsTrue();
        await Assert.That(await Poll.UntilAsync(() => gw.App.PlaintextCounters!.PartialLinesDropped == 1, TimeSpan.FromSeconds(30))).IsTrue();
        await Assert.That(await sink.SettleAsync()).IsEquivalentTo(["edge.a.b 1 1700000000", "edge.c.d 2.5 1700000001"]);
        var edge = gw.App.Tenants.Get("edge");
        await Assert.That(edge.Counters.PointsAccepted).IsEqualTo(2);
        await Assert.That(edge.Counters.PointsInvalid).IsEqualTo(1);
        await Assert.That(gw.App.Counters.LinesReceived).IsEqualTo(3);
        await Assert.That(edge.Rejects.Snapshot().Single().Line).IsEqualTo("not a line");
    }

    [Test]
    public async Task Many_senders_with_lines_cut_across_writes_lose_and_repeat_nothing()
    {
        await using var sink = TcpSink.Start();
        await using var gw = await StartAsync([sink]);
        const int senders = 40, lines = 2500;

        await Task.WhenAll(Enumerable.Range(0, senders).Select(async s =>
        {
            var text = new StringBuilder();
            for (int i = 0; i < lines; i++)
                text.Append(LineOf(s, i));
            byte[] bytes = Encoding.ASCII.GetBytes(text.ToString());
            var random = new Random(s);
            using var socket = await ConnectAsync(gw);
            // Writes of 1 to 3000 bytes, so lines are cut anywhere, some one byte at a time.
            for (int at = 0; at < bytes.Length;)
            {
                int n = Math.Min(bytes.Length - at, random.Next(1, 3000));
                await socket.SendAsync(bytes.AsMemory(at, n));
                at += n;
            }
            socket.Shutdown(SocketShutdown.Send);
            while (await socket.ReceiveAsync(new byte[16]) > 0)
            {
            }
        }));

        await Assert.That(await sink.WaitForAsync(senders * lines, TimeSpan.FromSeconds(30))).IsTrue();
        var got = await sink.SettleAsync();
        await Assert.That(got.Count).IsEqualTo(senders * lines);
        await Assert.That(got.Distinct().Count()).IsEqualTo(senders * lines);
        await Assert.That(gw.App.Counters.LinesInvalid).IsEqualTo(0);
        await Assert.That(gw.App.PlaintextCounters!.Accepted).IsEqualTo(senders);
    }

    private static string LineOf(int sender, int i) => $"s{sender}.m{i % 97}.n{i} {i}.5 {1700000000 + i}\n";

    [Test]
    public async Task A_line_past_the_limit_is_counted_and_skipped_even_across_many_reads()
    {
        await using var sink = TcpSink.Start();
        await using var gw = await StartAsync([sink], o => o with { MaxLineLength = 100 });
        var huge = "long." + new string('x', 300_000) + " 1 1700000000\n";

        await SendAsync(gw, "a.one 1 1700000000\n" + huge + "a.two 2 1700000000\n" + "short." + new string('y', 120) + " 1 1700000000\na.three 3 1700000000\n");

        await Assert.That(await sink.WaitForAsync(3)).IsTrue();
        await Assert.That(await sink.SettleAsync()).IsEquivalentTo(["a.one 1 1700000000", "a.two 2 1700000000", "a.three 3 1700000000"]);
        await Assert.That(gw.App.Counters.LinesTooLong).IsEqualTo(2);
    }

    [Test]
    public async Task An_idle_connection_is_closed_and_its_unfinished_last_line_dropped()
    {
        await using var sink = TcpSink.Start();
        await using var gw = await StartAsync([sink], o => o with { TcpIdleTimeout = TimeSpan.FromMilliseconds(300) });
        using var socket = await ConnectAsync(gw);
        await socket.SendAsync(Encoding.ASCII.GetBytes("idle.a 1 1700000000\nidle.b 2 1700000000"));

        var closed = socket.ReceiveAsync(new byte[16].AsMemory()).AsTask();
        await Assert.That(await Poll.FinishesAsync(closed, TimeSpan.FromSeconds(30))).IsTrue();
        await Assert.That(await sink.WaitForAsync(1)).IsTrue();
        await Assert.That(await Poll.UntilAsync(() => gw.App.PlaintextCounters!.PartialLinesDropped == 1, TimeSpan.FromSeconds(30))).IsTrue();
        await Assert.That(await sink.SettleAsync()).IsEquivalentTo(["idle.a 1 1700000000"]);
        await Assert.That(gw.App.PlaintextCounters!.IdleClosed).IsEqualTo(1);
    }

    [Test]
    public async Task A_stalled_destination_stops_the_reading_and_nothing_is_dropped()
    {
        await using var stalled = new StalledSink();
        await using var gw = await TestGateway.StartAsync([], o => o with
        {
            Destinations = [new DestinationAddress("127.0.0.1", stalled.Port, null)],
            OutgoingQueueCap = 5000,
            QueueWait = TimeSpan.FromMilliseconds(100),
            TcpPort = 0,
            TcpTenant = "edge",
        });
        const int lines = 400_000;
        var text = new StringBuilder();
        for (int i = 0; i < lines; i++)
            text.Append("stall.metric.").Append(i).Append(" 1 1700000000\n");
        byte[] bytes = Encoding.ASCII.GetBytes(text.ToString());
        using var socket = await ConnectAsync(gw);
        socket.SendBufferSize = 64 * 1024;
        var sending = Task.Run(async () =>
        {
            await socket.SendAsync(bytes);
            socket.Shutdown(SocketShutdown.Send);
        });

        var tcp = gw.App.PlaintextCounters!;
        await Assert.That(await Poll.UntilAsync(() => gw.App.Plaintext!.Stalled() > 0, TimeSpan.FromSeconds(30))).IsTrue();
        // The stall is held for at least a second (asserted below as its measured length). Nothing can end it
        // meanwhile, since the sink reads nothing until Resume: this wait is a minimum, not a hope.
        await Task.Delay(1000);
        // The gateway reads nothing while it cannot queue: the sender is held by TCP, and nothing is refused or dropped.
        await Assert.That(sending.IsCompleted).IsFalse();
        var destination = gw.App.Destinations.Current[0];
        await Assert.That(destination.Counters.DroppedTotal).IsEqualTo(0);

        stalled.Resume();
        await sending.WaitAsync(TimeSpan.FromSeconds(30));
        await Assert.That(await Poll.UntilAsync(() => stalled.Lines == lines, TimeSpan.FromSeconds(30))).IsTrue();
        await Assert.That(destination.Counters.DroppedTotal).IsEqualTo(0);
        await Assert.That(gw.App.Counters.LinesReceived).IsEqualTo(lines);
        await Assert.That(tcp.Stalls).IsGreaterThan(0);
        await Assert.That(tcp.Stalled > TimeSpan.FromSeconds(1)).IsTrue();
        await Assert.That(gw.App.Plaintext!.Stalled()).IsEqualTo(0);
    }

    [Test]
    public async Task At_the_stop_lines_that_cannot_be_queued_are_counted_and_logged_and_the_stop_ends()
    {
        await using var stalled = new StalledSink();
        var gw = await TestGateway.StartAsync([], o => o with
        {
            Destinations = [new DestinationAddress("127.0.0.1", stalled.Port, null)],
            OutgoingQueueCap = 5000,
            QueueWait = TimeSpan.FromMilliseconds(100),
            DrainTimeout = TimeSpan.FromSeconds(1),
            TcpPort = 0,
            TcpTenant = "edge",
        });
        var text = new StringBuilder();
        for (int i = 0; i < 200_000; i++)
            text.Append("stop.metric.").Append(i).Append(" 1 1700000000\n");
        text.Append("stop.unfinished 1 17");
        using var socket = await ConnectAsync(gw);
        var sending = socket.SendAsync(Encoding.ASCII.GetBytes(text.ToString()));
        var tcp = gw.App.PlaintextCounters!;
        // Stalled for want of room, not for want of CPU: the destination's queue is full too.
        var destination = gw.App.Destinations.Current[0];
        await Assert.That(await Poll.UntilAsync(() => gw.App.Plaintext!.Stalled() > 0 && destination.Counters.Queued >= 5000, TimeSpan.FromSeconds(30))).IsTrue();

        var stop = gw.App.StopAsync();
        await Assert.That(await Poll.FinishesAsync(stop, TimeSpan.FromSeconds(30))).IsTrue();
        // The lines held were either lost at the stop, counted and logged, or (when the writer gave the stalled
        // destination up as down first) queued for it and dropped at the drain, counted there: never uncounted.
        long droppedAtDestination = destination.Counters.DroppedTotal;
        await Assert.That(tcp.LinesLostAtStop + droppedAtDestination).IsGreaterThan(0).Because($"lost at stop {tcp.LinesLostAtStop}, dropped {droppedAtDestination}");
        await Assert.That(gw.Logs.All.Contains("lines read but not queued")).IsEqualTo(tcp.LinesLostAtStop > 0);
        await gw.DisposeAsync();
        _ = sending;
    }

    [Test]
    public async Task Hash_route_places_its_lines_as_for_http_and_a_down_destination_spools_them()
    {
        await using var up = TcpSink.Start();
        int downPort = Posix.FreePort(); // nothing listens there yet
        string spool = Directory.CreateTempSubdirectory("pgw-tcp-spool-").FullName;
        await using var gw = await TestGateway.StartAsync([], o => o with
        {
            Destinations = [new DestinationAddress("127.0.0.1", up.Port, "a"), new DestinationAddress("127.0.0.1", downPort, "b")],
            Distribution = Distribution.CarbonCh,
            SpoolDir = spool,
            OutgoingQueueCap = 100, // so the down destination's part goes past its queue, into the spool
            TcpPort = 0,
            TcpTenant = "edge",
        });
        var down = gw.App.Destinations.Current[1];
        await Assert.That(await Poll.UntilAsync(() => down.Down, TimeSpan.FromSeconds(30))).IsTrue();

        // The same 2000 names, over HTTP with value 1 and over TCP with value 2.
        using var client = gw.Client();
        var names = Enumerable.Range(0, 2000).Select(i => $"route.m{i}").ToArray();
        await Assert.That((await client.IngestAsync("123", string.Concat(names.Select(n => $"{n} 1 1700000000\n")))).Status).IsEqualTo(200);
        await SendAsync(gw, string.Concat(names.Select(n => $"{n} 2 1700000000\n")));
        await Assert.That(await Poll.UntilAsync(() => down.Counters.SpoolPending > 0, TimeSpan.FromSeconds(30))).IsTrue();

        await using var late = TcpSink.Start(downPort);
        await Assert.That(await Poll.UntilAsync(() => up.Count + late.Count >= 4000, TimeSpan.FromSeconds(30))).IsTrue();
        var upLines = await up.SettleAsync();
        var lateLines = await late.SettleAsync();
        static HashSet<string> Named(IEnumerable<string> lines, string value) => [.. lines.Where(l => l.Split(' ')[1] == value).Select(l => l.Split(' ')[0])];
        // Each name went to the same destination whichever listener it came in on, and nothing was lost.
        await Assert.That(Named(upLines, "2").SetEquals(Named(upLines, "1"))).IsTrue();
        await Assert.That(Named(lateLines, "2").SetEquals(Named(lateLines, "1"))).IsTrue();
        await Assert.That(Named(lateLines, "2").Count).IsGreaterThan(0);
        await Assert.That(upLines.Count + lateLines.Count).IsEqualTo(4000);
        await Assert.That(down.Counters.DroppedTotal).IsEqualTo(0);
    }

    [Test]
    public async Task Over_the_tenants_rate_limit_it_slows_the_sender_instead_of_refusing()
    {
        await using var sink = TcpSink.Start();
        await using var gw = await StartAsync([sink], o => o with { TenantRateLimit = 3000 });
        const int lines = 9000;

        await SendAsync(gw, string.Concat(Enumerable.Range(0, lines).Select(i => $"rate.m{i} 1 1700000000\n")));

        await Assert.That(await sink.WaitForAsync(lines, TimeSpan.FromSeconds(20))).IsTrue();
        var edge = gw.App.Tenants.Get("edge");
        await Assert.That(edge.Counters.PointsAccepted).IsEqualTo(lines);
        await Assert.That(edge.Counters.Refused(429)).IsEqualTo(0);
        await Assert.That(gw.App.PlaintextCounters!.Stalls).IsGreaterThan(0);
    }

    [Test]
    public async Task A_real_carbon_c_relay_forwards_into_it()
    {
        await using var sink = TcpSink.Start();
        await using var gw = await StartAsync([sink], o => o with { KeyPrefix = true });
        await using var relay = await CarbonCRelay.StartForwardingAsync(gw.App.PlaintextEndpoint!.Port);
        const int senders = 8, lines = 5000;

        await Task.WhenAll(Enumerable.Range(0, senders).Select(async s =>
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, relay.Port);
            var text = new StringBuilder();
            for (int i = 0; i < lines; i++)
                text.Append(LineOf(s, i));
            await client.GetStream().WriteAsync(Encoding.ASCII.GetBytes(text.ToString()));
        }));

        await Assert.That(await sink.WaitForAsync(senders * lines, TimeSpan.FromSeconds(30))).IsTrue();
        var got = await sink.SettleAsync();
        await Assert.That(got.Count).IsEqualTo(senders * lines);
        await Assert.That(got.All(l => l.StartsWith("edge.s", StringComparison.Ordinal))).IsTrue();
        await Assert.That(got.Distinct().Count()).IsEqualTo(senders * lines);
        await Assert.That(gw.App.Tenants.Get("edge").Counters.PointsAccepted).IsEqualTo(senders * lines);
    }
}
