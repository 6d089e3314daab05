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

        /// <param name="parent">Null for a root; else the CA that issues this intermediate.</param>
        public Authority(string name, Authority? parent = null)
        {
            var request = new CertificateRequest($"CN={name}", _key, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
            request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
            var (from, to) = (DateTimeOffset.UtcNow.AddDays(-30), DateTimeOffset.UtcNow.AddYears(1));
            if (parent is null)
            {
                Certificate = request.CreateSelfSigned(from, to);
            }
            else
            {
                using var issued = request.Create(parent.Certificate, from, to.AddDays(-1), RandomNumberGenerator.GetBytes(8));
                Certificate = issued.CopyWithPrivateKey(_key);
            }
            PemPath = Path.Combine(_dir, "ca.pem");
            File.WriteAllText(PemPath, Certificate.ExportCertificatePem());
        }

        public X509Certificate2 Certificate { get; }

        public string PemPath { get; }

        /// <summary>Its certificate alone, as a client sends it after its own.</summary>
        public X509Certificate2 Public => X509CertificateLoader.LoadCertificate(Certificate.RawData);

        /// <param name="subject">The whole subject, when it is not just <c>CN=cn</c>.</param>
        public X509Certificate2 Issue(string cn, DateTimeOffset? from = null, DateTimeOffset? to = null, X500DistinguishedName? subject = null)
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest(subject ?? new X500DistinguishedName($"CN={cn}"), key, HashAlgorithmName.SHA256);
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

    /// <param name="chain">Certificates the client sends after its own (intermediates), as TLS clients do.</param>
    private static async Task<int> SendAsync(string httpsAddress, X509Certificate2? certificate, string? key, X509Certificate2[]? chain = null)
    {
        var handler = new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true } };
        if (certificate is not null && chain is not null)
            handler.SslOptions.ClientCertificateContext = System.Net.Security.SslStreamCertificateContext.Create(certificate, new X509Certificate2Collection(chain), offline: true);
        else if (certificate is not null)
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

    // A subject of one RDN holding several attributes (O=x + CN=y), which the string form cannot make.
    private static X500DistinguishedName MultiValued(params (string Oid, string Value)[] attributes)
    {
        var writer = new System.Formats.Asn1.AsnWriter(System.Formats.Asn1.AsnEncodingRules.DER);
        using (writer.PushSequence())
        using (writer.PushSetOf())
        {
            foreach (var (oid, value) in attributes)
            {
                using (writer.PushSequence())
                {
                    writer.WriteObjectIdentifier(oid);
                    writer.WriteCharacterString(System.Formats.Asn1.UniversalTagNumber.UTF8String, value);
                }
            }
        }
        return new X500DistinguishedName(writer.Encode());
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
    public async Task A_subject_with_two_CNs_names_no_tenant()
    {
        // Which CN would name the tenant? The old code took the last one: "CN=polite, CN=flood" was flood. Under
        // require such a certificate ends the handshake, as one that does not verify does (Kestrel asks the check
        // there); under optional it counts as no certificate, so without a key the answer is 401, and a key decides.
        using var server = new TestCertificate();
        using var ca = new Authority("polymur test CA");
        await using var sink = TcpSink.Start();
        await using var required = await StartAsync(sink, server, ca, ClientAuth.Require, Keys());
        await using var optional = await StartAsync(sink, server, ca, ClientAuth.Optional, Keys());
        using var acmeThenBeta = ca.Issue("", subject: new X500DistinguishedName("CN=acme, CN=beta"));
        using var betaThenAcme = ca.Issue("", subject: new X500DistinguishedName("CN=beta, CN=acme"));
        using var plusJoined = ca.Issue("", subject: MultiValued(("2.5.4.10", "acme org"), ("2.5.4.3", "acme"), ("2.5.4.3", "beta")));
        using var plusOne = ca.Issue("", subject: MultiValued(("2.5.4.10", "acme org"), ("2.5.4.3", "acme")));
        using var acme = ca.Issue("acme");

        foreach (var two in new[] { acmeThenBeta, betaThenAcme, plusJoined })
        {
            await Assert.That(await SendAsync(required.HttpsAddress, two, null)).IsEqualTo(0).Because(two.Subject);
            await Assert.That(await SendAsync(required.HttpsAddress, two, "key-acme")).IsEqualTo(0).Because(two.Subject);
            await Assert.That(await SendAsync(optional.HttpsAddress, two, null)).IsEqualTo(401).Because(two.Subject);
            await Assert.That(await SendAsync(optional.HttpsAddress, two, "key-acme")).IsEqualTo(200).Because(two.Subject);
        }
        await Assert.That(await SendAsync(required.HttpsAddress, acme, null)).IsEqualTo(200);
        // One CN inside a multi-valued RDN (O=acme org + CN=acme) is one CN.
        await Assert.That(await SendAsync(required.HttpsAddress, plusOne, null)).IsEqualTo(200);
        await Assert.That(required.App.Tenants.Get("acme").Counters.BatchesAccepted).IsEqualTo(2);
        await Assert.That(required.App.Tenants.Get("beta").Counters.BatchesAccepted).IsEqualTo(0);
        await Assert.That(optional.App.Tenants.Get("acme").Counters.BatchesAccepted).IsEqualTo(3);
        await Assert.That(optional.App.Tenants.Get("beta").Counters.BatchesAccepted).IsEqualTo(0);
    }

    [Test]
    [Arguments(ClientAuth.Require)]
    [Arguments(ClientAuth.Optional)]
    public async Task A_certificate_from_an_intermediate_the_client_sends_chains_to_a_client_ca_root(ClientAuth mode)
    {
        using var server = new TestCertificate();
        using var root = new Authority("polymur test root");
        using var intermediate = new Authority("polymur test intermediate", root);
        using var strangerRoot = new Authority("polymur test root"); // same name, another key
        using var strangerIntermediate = new Authority("polymur test intermediate", strangerRoot);
        await using var sink = TcpSink.Start();
        await using var gw = await StartAsync(sink, server, root, mode, Keys()); // -client-ca: the root alone
        int refused = mode == ClientAuth.Require ? 0 : 401;

        using var acme = intermediate.Issue("acme");
        using var sent = intermediate.Public;
        await Assert.That(await SendAsync(gw.HttpsAddress, acme, null, [sent])).IsEqualTo(200);
        // Without the intermediate there is no path to the root.
        await Assert.That(await SendAsync(gw.HttpsAddress, acme, null)).IsEqualTo(refused);
        // Another root's chain, even with its root sent too: what the client sends is never an anchor.
        using var foreign = strangerIntermediate.Issue("acme");
        using var foreignIntermediate = strangerIntermediate.Public;
        using var foreignRoot = strangerRoot.Public;
        await Assert.That(await SendAsync(gw.HttpsAddress, foreign, null, [foreignIntermediate])).IsEqualTo(refused);
        await Assert.That(await SendAsync(gw.HttpsAddress, foreign, null, [foreignIntermediate, foreignRoot])).IsEqualTo(refused);
        await Assert.That(gw.App.Tenants.Get("acme").Counters.BatchesAccepted).IsEqualTo(1);
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
