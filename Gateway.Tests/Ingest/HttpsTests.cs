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

public class TlsPolicyTests
{
    [Test]
    public async Task Tls_1_1_is_refused_and_1_3_accepted()
    {
        using var cert = new TestCertificate();
        await using var gw = await TestGateway.StartAsync([], o => o with { CertPath = cert.CertPath, KeyPath = cert.KeyPath });
        var uri = new Uri(gw.HttpsAddress);

        static async Task<bool> HandshakeAsync(Uri uri, System.Security.Authentication.SslProtocols protocol)
        {
            using var tcp = new System.Net.Sockets.TcpClient();
            await tcp.ConnectAsync(uri.Host, uri.Port);
            using var tls = new System.Net.Security.SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
            try
            {
#pragma warning disable SYSLIB0039 // TLS 1.1 on purpose: it must be refused.
                await tls.AuthenticateAsClientAsync(new System.Net.Security.SslClientAuthenticationOptions { TargetHost = "localhost", EnabledSslProtocols = protocol });
#pragma warning restore SYSLIB0039
                return true;
            }
            catch (Exception e) when (e is System.Security.Authentication.AuthenticationException or IOException)
            {
                return false;
            }
        }

#pragma warning disable SYSLIB0039
        await Assert.That(await HandshakeAsync(uri, System.Security.Authentication.SslProtocols.Tls11)).IsFalse();
#pragma warning restore SYSLIB0039
        await Assert.That(await HandshakeAsync(uri, System.Security.Authentication.SslProtocols.Tls13)).IsTrue();
        await Assert.That(await HandshakeAsync(uri, System.Security.Authentication.SslProtocols.Tls12)).IsTrue();
    }
}
