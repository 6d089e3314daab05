using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Ingest.Plaintext;

/// <summary>
/// A line without its LF when the connection ends (an idle close, or the sender's close) is dropped and counted,
/// as carbon-cache drops it, never forwarded. Before, a sender that stopped in the middle of a timestamp and went
/// idle had <c>tcp.idlecut.m1 42 17000</c> forwarded as a valid point.
/// </summary>
public class PlaintextCutLineTests
{
    private const string Complete = "tcp.before.m1 1 1700000000";
    private const string Cut = "tcp.idlecut.m1 42 17000";

    private static async Task AssertCutDroppedAsync(TestGateway gw, TcpSink sink)
    {
        var tcp = gw.App.PlaintextCounters!;
        await Assert.That(await sink.WaitForAsync(1)).IsTrue();
        await Assert.That(await Poll.UntilAsync(() => tcp.PartialLinesDropped == 1, TimeSpan.FromSeconds(30))).IsTrue();
        // The count is taken as the connection ends, after which nothing of it can still be queued.
        await Assert.That(await sink.SettleAsync()).IsEquivalentTo([Complete]);
        await Assert.That(gw.App.Counters.LinesReceived).IsEqualTo(1);
        await Assert.That(gw.Logs.All).Contains("dropped an unfinished last line (no LF)");
        using var stats = gw.StatsClient();
        await Assert.That(await stats.GetStringAsync("/metrics")).Contains("\npolymur_gateway_tcp_partial_lines_dropped_total 1\n");
        using var json = JsonDocument.Parse(await stats.GetStringAsync("/stats"));
        await Assert.That(json.RootElement.GetProperty("plaintext").GetProperty("partial_lines_dropped").GetInt64()).IsEqualTo(1);
    }

    [Test]
    public async Task A_line_cut_by_the_idle_close_is_dropped_and_counted()
    {
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink, o => o with { TcpPort = 0, TcpTenant = "edge", TcpIdleTimeout = TimeSpan.FromMilliseconds(500) });
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(gw.App.PlaintextEndpoint!);

        await socket.SendAsync(Encoding.ASCII.GetBytes($"{Complete}\n{Cut}"));
        // The sender goes quiet; the gateway closes it after -tcp-idle-timeout.
        var closed = socket.ReceiveAsync(new byte[16].AsMemory()).AsTask();
        await Assert.That(await Poll.FinishesAsync(closed, TimeSpan.FromSeconds(30))).IsTrue();

        await AssertCutDroppedAsync(gw, sink);
        await Assert.That(gw.App.PlaintextCounters!.IdleClosed).IsEqualTo(1);
    }

    [Test]
    public async Task A_line_cut_by_the_senders_close_is_dropped_and_counted()
    {
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink, o => o with { TcpPort = 0, TcpTenant = "edge" });
        using (var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            await socket.ConnectAsync(gw.App.PlaintextEndpoint!);
            await socket.SendAsync(Encoding.ASCII.GetBytes($"{Complete}\n{Cut}"));
            socket.Shutdown(SocketShutdown.Send);
        }

        await AssertCutDroppedAsync(gw, sink);
    }
}
