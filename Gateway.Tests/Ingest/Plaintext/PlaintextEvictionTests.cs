using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Ingest.Plaintext;

/// <summary>
/// At -tcp-max-connections a new plaintext connection evicts the longest-idle one, as the HTTP side does. Before,
/// the newcomer was closed at once: 512 silent sockets locked every sender out for up to -tcp-idle-timeout.
/// </summary>
public class PlaintextEvictionTests
{
    private static async Task<Socket> ConnectAsync(TestGateway gw)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(gw.App.PlaintextEndpoint!);
        return socket;
    }

    [Test]
    public async Task At_the_cap_a_new_sender_evicts_the_longest_idle_connection_and_its_lines_are_delivered()
    {
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink, o => o with { TcpPort = 0, TcpTenant = "edge", TcpMaxConnections = 3 });
        var tcp = gw.App.PlaintextCounters!;
        using var active = await ConnectAsync(gw);
        using var silent = await ConnectAsync(gw);
        using var silentToo = await ConnectAsync(gw);
        await Assert.That(await Poll.UntilAsync(() => tcp.Open == 3, TimeSpan.FromSeconds(30))).IsTrue();
        // The first one sends, so the longest idle is the second.
        await active.SendAsync(Encoding.ASCII.GetBytes("cap.active 1 1700000000\n"));
        await Assert.That(await sink.WaitForAsync(1)).IsTrue();

        using (var newcomer = await ConnectAsync(gw))
        {
            await newcomer.SendAsync(Encoding.ASCII.GetBytes("cap.new 1 1700000000\ncap.new 2 1700000000\n"));
            newcomer.Shutdown(SocketShutdown.Send);
            await Assert.That(await sink.WaitForAsync(3)).IsTrue();
        }

        // The silent one is closed by the gateway: its read ends (0 bytes, or a reset).
        var closed = Task.Run(async () =>
        {
            try
            {
                return await silent.ReceiveAsync(new byte[16].AsMemory());
            }
            catch (SocketException)
            {
                return 0;
            }
        });
        await Assert.That(await Poll.FinishesAsync(closed, TimeSpan.FromSeconds(30))).IsTrue();
        await Assert.That(tcp.Evicted).IsEqualTo(1);
        await Assert.That(tcp.Refused).IsEqualTo(0);
        await Assert.That(gw.Logs.All).Contains("to make room for a new one: 3 open (-tcp-max-connections)");

        // The active one still works.
        await active.SendAsync(Encoding.ASCII.GetBytes("cap.active 2 1700000000\n"));
        await Assert.That(await sink.WaitForAsync(4)).IsTrue();
        await Assert.That(await sink.SettleAsync()).IsEquivalentTo(["cap.active 1 1700000000", "cap.new 1 1700000000", "cap.new 2 1700000000", "cap.active 2 1700000000"]);

        using var stats = gw.StatsClient();
        string metrics = await stats.GetStringAsync("/metrics");
        await Assert.That(metrics).Contains("\npolymur_gateway_tcp_evicted_total 1\n");
        using var json = JsonDocument.Parse(await stats.GetStringAsync("/stats"));
        await Assert.That(json.RootElement.GetProperty("plaintext").GetProperty("evicted").GetInt64()).IsEqualTo(1);
    }

    [Test]
    public async Task A_cap_full_of_silent_sockets_does_not_lock_out_a_stream_of_new_senders()
    {
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink, o => o with { TcpPort = 0, TcpTenant = "edge", TcpMaxConnections = 20 });
        var tcp = gw.App.PlaintextCounters!;
        var sockets = new List<Socket>();
        try
        {
            for (int i = 0; i < 20; i++)
                sockets.Add(await ConnectAsync(gw));
            await Assert.That(await Poll.UntilAsync(() => tcp.Open == 20, TimeSpan.FromSeconds(30))).IsTrue();

            // Each sender stays connected after its line: at the cap every newcomer evicts one, the silent ones
            // first (idle longest), then the earliest senders.
            const int senders = 30;
            for (int s = 0; s < senders; s++)
            {
                var sender = await ConnectAsync(gw);
                sockets.Add(sender);
                await sender.SendAsync(Encoding.ASCII.GetBytes($"lockout.s{s} 1 1700000000\n"));
                await Assert.That(await sink.WaitForAsync(s + 1)).IsTrue().Because($"sender {s}");
            }

            await Assert.That((await sink.SettleAsync()).Count).IsEqualTo(senders);
            await Assert.That(tcp.Refused).IsEqualTo(0);
            await Assert.That(tcp.Evicted).IsEqualTo(senders);
            await Assert.That(await Poll.UntilAsync(() => tcp.Open == 20, TimeSpan.FromSeconds(30))).IsTrue();
        }
        finally
        {
            foreach (var socket in sockets)
                socket.Dispose();
        }
    }

    [Test]
    public async Task When_no_connection_is_idle_the_newcomer_is_closed_and_counted_as_refused()
    {
        await using var stalled = new StalledSink();
        await using var gw = await TestGateway.StartAsync([], o => o with
        {
            Destinations = [new Polymur.Gateway.Configuration.DestinationAddress("127.0.0.1", stalled.Port, null)],
            OutgoingQueueCap = 5000,
            QueueWait = TimeSpan.FromMilliseconds(100),
            TcpPort = 0,
            TcpTenant = "edge",
            TcpMaxConnections = 1,
        });
        var tcp = gw.App.PlaintextCounters!;
        // The one connection is busy: its lines wait for room the stalled destination never makes.
        using var busy = await ConnectAsync(gw);
        var lines = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, 200_000).Select(i => $"busy.m{i} 1 1700000000\n")));
        var sending = busy.SendAsync(lines);
        await Assert.That(await Poll.UntilAsync(() => gw.App.Plaintext!.Stalled() > 0, TimeSpan.FromSeconds(30))).IsTrue();

        using var newcomer = await ConnectAsync(gw);
        var closed = Task.Run(async () =>
        {
            try
            {
                return await newcomer.ReceiveAsync(new byte[16].AsMemory());
            }
            catch (SocketException)
            {
                return 0;
            }
        });

        await Assert.That(await Poll.FinishesAsync(closed, TimeSpan.FromSeconds(30))).IsTrue();
        await Assert.That(tcp.Refused).IsEqualTo(1);
        await Assert.That(tcp.Evicted).IsEqualTo(0);
        await Assert.That(gw.App.Plaintext!.Stalled()).IsEqualTo(1);
        stalled.Resume();
        _ = sending;
    }
}
