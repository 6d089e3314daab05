using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Hosting;

/// <summary>-max-connections and -first-request-timeout over real sockets.</summary>
public class ConnectionLimitTests
{
    private static async Task<List<Socket>> OpenSilentAsync(string address, int count)
    {
        var uri = new Uri(address);
        var sockets = new List<Socket>();
        for (int i = 0; i < count; i++)
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync("127.0.0.1", uri.Port);
            sockets.Add(socket);
        }
        return sockets;
    }

    // True once the gateway closed the connection (a read returns 0 or fails).
    private static async Task<bool> ClosedByPeerAsync(Socket socket, TimeSpan within)
    {
        using var timeout = new CancellationTokenSource(within);
        try
        {
            return await socket.ReceiveAsync(new byte[1], SocketFlags.None, timeout.Token) == 0;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (SocketException)
        {
            return true;
        }
    }

    [Test]
    public async Task At_the_cap_silent_sockets_make_room_for_a_client_that_sends()
    {
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink, o => o with { MaxConnections = 20 });
        var silent = await OpenSilentAsync(gw.HttpAddress, 30);
        try
        {
            using var client = gw.Client();
            var watch = Stopwatch.StartNew();
            var ping = await client.PingAsync("123");
            var ingest = await client.IngestAsync("123", "after.flood 1 1700000000\n");
            Console.WriteLine($"ping and ingest with the cap full of silent sockets: {watch.Elapsed.TotalMilliseconds:0.0} ms");

            await Assert.That(ping.Status).IsEqualTo(200);
            await Assert.That(ingest.Status).IsEqualTo(200);
            await Assert.That(await sink.WaitForAsync(1)).IsTrue();
            // An evicted connection is counted open until Kestrel has finished aborting it, a moment later.
            await Assert.That(await Poll.UntilAsync(() => gw.App.Connections.Open <= 21, TimeSpan.FromSeconds(30))).IsTrue().Because($"{gw.App.Connections.Open} open");
            await Assert.That(gw.App.Connections.Evicted).IsGreaterThanOrEqualTo(11);
        }
        finally
        {
            silent.ForEach(s => s.Dispose());
        }
    }

    [Test]
    public async Task A_connection_that_sends_no_request_is_closed_after_the_timeout_and_a_used_one_is_kept()
    {
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink, o => o with { FirstRequestTimeout = TimeSpan.FromMilliseconds(300) });
        var silent = (await OpenSilentAsync(gw.HttpAddress, 1))[0];
        var used = (await OpenSilentAsync(gw.HttpAddress, 1))[0];
        await used.SendAsync(Encoding.ASCII.GetBytes("POST /ping HTTP/1.1\r\nHost: x\r\nX-Polymur-Key: 123\r\nContent-Length: 0\r\n\r\n"));
        var answer = new byte[512];
        int n = await used.ReceiveAsync(answer, SocketFlags.None);

        await Assert.That(Encoding.ASCII.GetString(answer, 0, n)).StartsWith("HTTP/1.1 200");
        await Assert.That(await ClosedByPeerAsync(silent, TimeSpan.FromSeconds(30))).IsTrue();
        // The used one, as old as the silent one, outlived the timeout: a second request on it is answered.
        await used.SendAsync(Encoding.ASCII.GetBytes("POST /ping HTTP/1.1\r\nHost: x\r\nX-Polymur-Key: 123\r\nContent-Length: 0\r\n\r\n"));
        n = await used.ReceiveAsync(answer, SocketFlags.None);
        await Assert.That(Encoding.ASCII.GetString(answer, 0, n)).StartsWith("HTTP/1.1 200");
        // Counted just after the close is asked for, so it may trail the socket's close by a moment.
        await Assert.That(await Poll.UntilAsync(() => gw.App.Connections.TimedOut == 1, TimeSpan.FromSeconds(30))).IsTrue();
        await Assert.That(gw.App.Connections.TimedOut).IsEqualTo(1);
        silent.Dispose();
        used.Dispose();
    }

    [Test]
    public async Task When_every_connection_is_busy_the_newcomer_is_closed_and_nothing_in_progress_is_cut()
    {
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink, o => o with { MaxConnections = 2 });
        var body = ProxyClient.Gzip(ProxyClient.Lines("busy", 100));
        // Two uploads in progress: headers sent, the body held back.
        var busy = await OpenSilentAsync(gw.HttpAddress, 2);
        foreach (var socket in busy)
            await socket.SendAsync(Encoding.ASCII.GetBytes($"POST /ingest HTTP/1.1\r\nHost: x\r\nX-Polymur-Key: 123\r\nContent-Length: {body.Length}\r\n\r\n"));
        // Busy once the gateway runs both requests: each holds a batch slot of the dev tenant while its body waits.
        var dev = gw.App.Tenants.Get("dev");
        await Assert.That(await Poll.UntilAsync(() => dev.Share.Count == 2, TimeSpan.FromSeconds(30))).IsTrue();

        using var newcomer = new Socket(SocketType.Stream, ProtocolType.Tcp);
        bool closed;
        try
        {
            await newcomer.ConnectAsync("127.0.0.1", new Uri(gw.HttpAddress).Port);
            closed = await ClosedByPeerAsync(newcomer, TimeSpan.FromSeconds(30));
        }
        catch (SocketException)
        {
            closed = true; // reset before the connect was even reported: closed all the same
        }
        await Assert.That(closed).IsTrue();
        await Assert.That(gw.App.Connections.Refused).IsEqualTo(1);

        foreach (var socket in busy)
        {
            await socket.SendAsync(body);
            var answer = new byte[512];
            int n = await socket.ReceiveAsync(answer, SocketFlags.None);
            await Assert.That(Encoding.ASCII.GetString(answer, 0, n)).StartsWith("HTTP/1.1 200");
        }
        await Assert.That(await sink.WaitForAsync(200)).IsTrue();
        busy.ForEach(s => s.Dispose());
    }
}
