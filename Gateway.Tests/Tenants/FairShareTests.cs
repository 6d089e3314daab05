using System.Net.Sockets;
using System.Text;
using Polymur.Gateway.Keys;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Tenants;

/// <summary>-tenant-max-inflight: a tenant past its share waits and gets 503; the others never notice.</summary>
public class FairShareTests
{
    private static StaticKeyCache Keys() => new(KeySnapshot.From([("flood", "key-flood"), ("polite", "key-polite")]));

    [Test]
    public async Task A_tenant_at_its_share_gets_503_while_another_is_served()
    {
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink, o => o with { TenantMaxInflight = 2, IncomingQueueCap = 64 }, keys: Keys());
        var uri = new Uri(gw.HttpAddress);
        byte[] body = ProxyClient.Gzip(ProxyClient.Lines("f", 100));

        // Two requests whose bodies stop halfway hold both of the flooder's slots.
        var held = new List<Socket>();
        for (int i = 0; i < 2; i++)
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync("127.0.0.1", uri.Port);
            await socket.SendAsync(Encoding.ASCII.GetBytes($"POST /ingest HTTP/1.1\r\nHost: x\r\nX-Polymur-Key: key-flood\r\nContent-Length: {body.Length}\r\n\r\n"));
            await socket.SendAsync(body.AsMemory(0, body.Length / 2));
            held.Add(socket);
        }
        await Assert.That(await Poll.UntilAsync(() => gw.App.Tenants.Get("flood").Share.Count == 2, TimeSpan.FromSeconds(30))).IsTrue();

        using var client = gw.Client();
        var third = await client.SendAsync("/ingest", "key-flood", body);
        await Assert.That(third.Status).IsEqualTo(503);
        await Assert.That(third.Body).Contains("-tenant-max-inflight");
        for (int i = 0; i < 20; i++)
            await Assert.That((await client.IngestAsync("key-polite", ProxyClient.Lines("p", 10, i * 10))).Status).IsEqualTo(200);

        // The held batches complete and are answered 200: waiting for a share costs nothing that was accepted.
        foreach (var socket in held)
        {
            await socket.SendAsync(body.AsMemory(body.Length / 2));
            var answer = new byte[512];
            int n = await socket.ReceiveAsync(answer);
            await Assert.That(Encoding.ASCII.GetString(answer, 0, n)).StartsWith("HTTP/1.1 200");
            socket.Dispose();
        }
        await Assert.That(await sink.WaitForAsync(200 + 200)).IsTrue();
        await Assert.That(await Poll.UntilAsync(() => gw.App.Tenants.Get("flood").Share.Count == 0, TimeSpan.FromSeconds(30))).IsTrue();
        var flood = gw.App.Tenants.Get("flood").Counters;
        var polite = gw.App.Tenants.Get("polite").Counters;
        await Assert.That(flood.Refused(503)).IsEqualTo(1);
        await Assert.That(flood.BatchesAccepted).IsEqualTo(2);
        await Assert.That(polite.Refused(503)).IsEqualTo(0);
        await Assert.That(polite.PointsAccepted).IsEqualTo(200);
    }

    [Test]
    public async Task The_default_share_is_a_quarter_of_the_incoming_queue_cap()
    {
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink, o => o with { IncomingQueueCap = 100 }, keys: Keys());
        await Assert.That(gw.App.Tenants.Get("polite").Share.Capacity).IsEqualTo(25);
    }
}
