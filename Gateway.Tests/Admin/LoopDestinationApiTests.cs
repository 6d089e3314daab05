using System.Net;
using System.Net.Sockets;
using System.Text;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Admin;

/// <summary>
/// POST /destinations with one of the gateway's own listening addresses is a loop: 400 with a short reason, and
/// nothing added. The probe added its own plaintext port (201) and one line became 610,937 copies at the real sink.
/// </summary>
public class LoopDestinationApiTests
{
    private static StringContent Json(string address) =>
        new($"{{\"address\":\"{address}\"}}", Encoding.UTF8, "application/json");

    [Test]
    public async Task Every_own_listener_is_refused_with_400_and_one_line_reaches_the_sink_once()
    {
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink, o => o with { TcpPort = 0, TcpTenant = "edge" });
        using var admin = gw.AdminClient();
        int tcp = gw.App.PlaintextEndpoint!.Port;
        string[] own =
        [
            $"127.0.0.1:{tcp}",
            $"localhost:{tcp}",
            $"0.0.0.0:{tcp}",
            new Uri(gw.HttpAddress).Authority,
            new Uri(gw.App.StatsAddress).Authority,
            new Uri(gw.App.AdminAddress).Authority,
        ];

        foreach (var address in own)
        {
            var response = await admin.PostAsync("/destinations", Json(address));
            string body = await response.Content.ReadAsStringAsync();
            string error = System.Text.Json.JsonDocument.Parse(body).RootElement.GetProperty("error").GetString()!;
            await Assert.That(response.StatusCode).IsEqualTo(HttpStatusCode.BadRequest).Because($"{address}: {body}");
            await Assert.That(error).Contains("is this gateway's own").Because(address);
            await Assert.That(error.Length).IsLessThan(300);
        }
        await Assert.That(gw.App.Destinations.Current.Length).IsEqualTo(1);

        // One line in: exactly one copy at the real sink, and the gateway took one point, not an endless stream.
        using (var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            await socket.ConnectAsync(gw.App.PlaintextEndpoint!);
            await socket.SendAsync(Encoding.ASCII.GetBytes("tcp.loop.m1 1 1700000000\n"));
        }
        await Assert.That(await sink.WaitForAsync(1)).IsTrue();
        await Assert.That(await sink.SettleAsync()).IsEquivalentTo(["tcp.loop.m1 1 1700000000"]);
        await Assert.That(gw.App.Counters.LinesReceived).IsEqualTo(1);
    }

    [Test]
    public async Task Another_port_on_loopback_is_still_added()
    {
        await using var sink = TcpSink.Start();
        await using var other = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink, o => o with { TcpPort = 0, TcpTenant = "edge" });
        using var admin = gw.AdminClient();

        var response = await admin.PostAsync("/destinations", Json($"localhost:{other.Port}"));

        await Assert.That(response.StatusCode).IsEqualTo(HttpStatusCode.Created);
        await Assert.That(gw.App.Destinations.Current.Length).IsEqualTo(2);
    }
}
