using System.Net;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Ingest;

/// <summary>HTTPS from PEM files, serving HTTP/1.1 (proxy with -cert) and h2 (proxy without a custom CA).</summary>
public class HttpsTests
{
    [Test]
    [Arguments("1.1")]
    [Arguments("2.0")]
    public async Task Ingest_over_tls_in_both_protocols(string version)
    {
        using var cert = new TestCertificate();
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink, o => o with { CertPath = cert.CertPath, KeyPath = cert.KeyPath });
        var handler = new SocketsHttpHandler
        {
            SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true },
        };
        using var client = new ProxyClient(gw.HttpsAddress, handler) { Version = Version.Parse(version) };

        var ping = await client.PingAsync("123");
        var ingest = await client.IngestAsync("123", ProxyClient.Lines("tls", 500));

        await Assert.That(ping.Status).IsEqualTo(200);
        await Assert.That(ping.Version).IsEqualTo(Version.Parse(version));
        await Assert.That(ingest.Status).IsEqualTo(200);
        await Assert.That(ingest.Body).IsEqualTo("Batch Received\n");
        await Assert.That(await sink.WaitForAsync(500)).IsTrue();
    }

    [Test]
    public async Task Invalid_key_over_h2_is_401_without_a_connection_header()
    {
        using var cert = new TestCertificate();
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink, o => o with { CertPath = cert.CertPath, KeyPath = cert.KeyPath });
        var handler = new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true } };
        using var client = new ProxyClient(gw.HttpsAddress, handler) { Version = HttpVersion.Version20 };

        var reply = await client.PingAsync("nope");

        await Assert.That(reply.Status).IsEqualTo(401);
        await Assert.That(reply.Body).IsEqualTo("invalid key");
        await Assert.That(reply.Version).IsEqualTo(HttpVersion.Version20);
    }

    [Test]
    public async Task Plain_http_keeps_serving_when_https_is_on()
    {
        using var cert = new TestCertificate();
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink, o => o with { CertPath = cert.CertPath, KeyPath = cert.KeyPath });
        using var client = gw.Client();

        await Assert.That((await client.PingAsync("123")).Status).IsEqualTo(200);
        await Assert.That(gw.App.Addresses.Count).IsEqualTo(2);
    }
}
