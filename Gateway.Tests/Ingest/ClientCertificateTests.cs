using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Polymur.Gateway.Configuration;
using Polymur.Gateway.Keys;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Ingest;

/// <summary>-client-ca and -client-auth with a CA and client certificates the test makes itself.</summary>
public class ClientCertificateTests
{
    private sealed class Authority : IDisposable
    {
        private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        private readonly string _dir = Directory.CreateTempSubdirectory("pgw-ca-").FullName;

        public Authority(string name)
        {
            var request = new CertificateRequest($"CN={name}", _key, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
            Certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-30), DateTimeOffset.UtcNow.AddYears(1));
            PemPath = Path.Combine(_dir, "ca.pem");
            File.WriteAllText(PemPath, Certificate.ExportCertificatePem());
        }

        public X509Certificate2 Certificate { get; }

        public string PemPath { get; }

        public X509Certificate2 Issue(string cn, DateTimeOffset? from = null, DateTimeOffset? to = null)
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest($"CN={cn}", key, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
            var serial = RandomNumberGenerator.GetBytes(8);
            using var cert = request.Create(Certificate, from ?? DateTimeOffset.UtcNow.AddDays(-1), to ?? DateTimeOffset.UtcNow.AddDays(10), serial);
            // Through PKCS#12, as a client certificate with its key would come from a file.
            return X509CertificateLoader.LoadPkcs12(cert.CopyWithPrivateKey(key).Export(X509ContentType.Pkcs12), null);
        }

        public void Dispose()
        {
            Certificate.Dispose();
            _key.Dispose();
            Directory.Delete(_dir, recursive: true);
        }
    }

    private static async Task<int> SendAsync(string httpsAddress, X509Certificate2? certificate, string? key)
    {
        var handler = new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true } };
        if (certificate is not null)
            handler.SslOptions.ClientCertificates = [certificate];
        using var http = new HttpClient(handler) { BaseAddress = new Uri(httpsAddress) };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/ingest") { Content = new ByteArrayContent(ProxyClient.Gzip("mtls.a 1 1700000000\n")) };
        if (key is not null)
            request.Headers.Add("X-Polymur-Key", key);
        try
        {
            return (int)(await http.SendAsync(request)).StatusCode;
        }
        catch (HttpRequestException)
        {
            return 0; // the handshake failed
        }
    }

    private static StaticKeyCache Keys() => new(KeySnapshot.From([("acme", "key-acme"), ("beta", "key-beta")]));

    private static Task<TestGateway> StartAsync(TcpSink sink, TestCertificate server, Authority ca, ClientAuth mode, IKeyCache? keys = null, Polymur.Gateway.Consul.ConsulSettings? consul = null) =>
        TestGateway.StartAsync(sink, o => o with { CertPath = server.CertPath, KeyPath = server.KeyPath, ClientCaPath = ca.PemPath, ClientAuth = mode }, keys: keys, consul: consul);

    [Test]
    public async Task Under_require_only_a_verified_certificate_gets_in_and_it_names_the_tenant()
    {
        using var server = new TestCertificate();
        using var ca = new Authority("polymur test CA");
        using var stranger = new Authority("another CA");
        await using var sink = TcpSink.Start();
        await using var gw = await StartAsync(sink, server, ca, ClientAuth.Require, Keys());

        using var acme = ca.Issue("acme");
        await Assert.That(await SendAsync(gw.HttpsAddress, acme, null)).IsEqualTo(200);
        await Assert.That(await SendAsync(gw.HttpsAddress, acme, "key-acme")).IsEqualTo(200);
        await Assert.That(await SendAsync(gw.HttpsAddress, acme, "key-beta")).IsEqualTo(401);
        using var unknown = ca.Issue("nobody");
        await Assert.That(await SendAsync(gw.HttpsAddress, unknown, null)).IsEqualTo(401);

        using var expired = ca.Issue("acme", DateTimeOffset.UtcNow.AddDays(-10), DateTimeOffset.UtcNow.AddDays(-1));
        using var early = ca.Issue("acme", DateTimeOffset.UtcNow.AddDays(1), DateTimeOffset.UtcNow.AddDays(10));
        using var foreign = stranger.Issue("acme");
        await Assert.That(await SendAsync(gw.HttpsAddress, expired, "key-acme")).IsEqualTo(0);
        await Assert.That(await SendAsync(gw.HttpsAddress, early, "key-acme")).IsEqualTo(0);
        await Assert.That(await SendAsync(gw.HttpsAddress, foreign, "key-acme")).IsEqualTo(0);
        await Assert.That(await SendAsync(gw.HttpsAddress, null, "key-acme")).IsEqualTo(0);

        await Assert.That(gw.App.Tenants.Get("acme").Counters.BatchesAccepted).IsEqualTo(2);
        await Assert.That(gw.App.Tenants.Get("beta").Counters.BatchesAccepted).IsEqualTo(0);
    }

    [Test]
    public async Task Under_optional_a_certificate_that_does_not_verify_counts_as_none()
    {
        using var server = new TestCertificate();
        using var ca = new Authority("polymur test CA");
        using var stranger = new Authority("another CA");
        await using var sink = TcpSink.Start();
        await using var gw = await StartAsync(sink, server, ca, ClientAuth.Optional, Keys());

        using var foreign = stranger.Issue("acme");
        using var expired = ca.Issue("acme", DateTimeOffset.UtcNow.AddDays(-10), DateTimeOffset.UtcNow.AddDays(-1));
        using var beta = ca.Issue("beta");
        await Assert.That(await SendAsync(gw.HttpsAddress, null, "key-acme")).IsEqualTo(200);
        await Assert.That(await SendAsync(gw.HttpsAddress, foreign, "key-acme")).IsEqualTo(200);
        await Assert.That(await SendAsync(gw.HttpsAddress, foreign, null)).IsEqualTo(401);
        await Assert.That(await SendAsync(gw.HttpsAddress, expired, null)).IsEqualTo(401);
        await Assert.That(await SendAsync(gw.HttpsAddress, beta, null)).IsEqualTo(200);
        await Assert.That(await SendAsync(gw.HttpsAddress, beta, "key-acme")).IsEqualTo(401);
        await Assert.That(gw.App.Tenants.Get("beta").Counters.BatchesAccepted).IsEqualTo(1);
    }

    [Test]
    public async Task Removing_the_key_in_consul_shuts_out_its_certificate()
    {
        await using var consul = await ConsulAgent.StartAsync();
        await consul.PutKeyAsync("acme", "key-acme");
        using var server = new TestCertificate();
        using var ca = new Authority("polymur test CA");
        await using var sink = TcpSink.Start();
        await using var gw = await StartAsync(sink, server, ca, ClientAuth.Require, consul: consul.Settings());
        using var acme = ca.Issue("acme");
        await Assert.That(await SendAsync(gw.HttpsAddress, acme, null)).IsEqualTo(200);
        await consul.DeleteKeyAsync("acme");
        await Assert.That(await Poll.UntilAsync(async () => await SendAsync(gw.HttpsAddress, acme, null) == 401, TimeSpan.FromSeconds(30))).IsTrue();
    }
}
