using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Hosting;

/// <summary>The HTTPS certificate replaced under load, the way renewal tools do it, and bad pairs refused.</summary>
public class CertificateReloadTests
{
    // A self-signed pair for 127.0.0.1 valid over [from, to], as PEM text.
    private static (string Cert, string Key, string Serial) NewPair(DateTimeOffset? from = null, DateTimeOffset? to = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=polymur-gateway-reload", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(System.Net.IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var cert = request.CreateSelfSigned(from ?? DateTimeOffset.UtcNow.AddDays(-1), to ?? DateTimeOffset.UtcNow.AddDays(30));
        return (cert.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem(), cert.SerialNumber);
    }

    // What a renewal tool does: write beside, then rename over (each rename is atomic; the pair is not).
    private static void Swap(TestCertificate files, string cert, string key)
    {
        File.WriteAllText(files.CertPath + ".new", cert);
        File.WriteAllText(files.KeyPath + ".new", key);
        File.Move(files.CertPath + ".new", files.CertPath, overwrite: true);
        File.Move(files.KeyPath + ".new", files.KeyPath, overwrite: true);
    }

    private static HttpClient Client(string address, bool newConnectionEachTime) => new(new SocketsHttpHandler
    {
        SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true },
        PooledConnectionLifetime = newConnectionEachTime ? TimeSpan.Zero : Timeout.InfiniteTimeSpan,
    }) { BaseAddress = new Uri(address) };

    [Test]
    public async Task A_renewed_pair_serves_new_handshakes_under_load_with_no_failed_request()
    {
        using var files = new TestCertificate();
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink, o => o with { CertPath = files.CertPath, KeyPath = files.KeyPath });
        string before = await ServedCertificate.SerialAsync(gw.HttpsAddress);

        using var stop = new CancellationTokenSource();
        long ok = 0, failed = 0;
        var load = Enumerable.Range(0, 4).Select(i => Task.Run(async () =>
        {
            using var client = Client(gw.HttpsAddress, newConnectionEachTime: i % 2 == 0);
            byte[] body = ProxyClient.Gzip(ProxyClient.Lines($"tls{i}", 50));
            while (!stop.IsCancellationRequested)
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, "/ingest") { Content = new ByteArrayContent(body) };
                request.Headers.Add("X-Polymur-Key", "123");
                try
                {
                    using var response = await client.SendAsync(request);
                    Interlocked.Increment(ref response.IsSuccessStatusCode ? ref ok : ref failed);
                }
                catch (HttpRequestException)
                {
                    Interlocked.Increment(ref failed);
                }
            }
        })).ToArray();
        // The swap comes under load, and load goes on after it: counted in requests, not in milliseconds.
        await Assert.That(await Poll.UntilAsync(() => Interlocked.Read(ref ok) >= 10, TimeSpan.FromSeconds(30))).IsTrue();

        var next = NewPair();
        Swap(files, next.Cert, next.Key);
        bool served = await Poll.UntilAsync(async () => await ServedCertificate.SerialAsync(gw.HttpsAddress) == next.Serial, TimeSpan.FromSeconds(30));
        long okAtReload = Interlocked.Read(ref ok);
        await Assert.That(await Poll.UntilAsync(() => Interlocked.Read(ref ok) >= okAtReload + 11, TimeSpan.FromSeconds(30))).IsTrue();
        stop.Cancel();
        await Task.WhenAll(load);

        await Assert.That(served).IsTrue();
        await Assert.That(before).IsNotEqualTo(next.Serial);
        await Assert.That(Interlocked.Read(ref failed)).IsEqualTo(0);
        await Assert.That(Interlocked.Read(ref ok)).IsGreaterThan(20);
        await Assert.That(gw.App.Certificate!.Reloads).IsEqualTo(1);
        await Assert.That(gw.App.Certificate.Failures).IsEqualTo(0);
        using var stats = gw.StatsClient();
        string metrics = await stats.GetStringAsync("/metrics");
        await Assert.That(metrics).Contains("polymur_gateway_tls_certificate_reloads_total{result=\"ok\"} 1\n");
        await Assert.That(metrics).Contains("polymur_gateway_tls_certificate_expiry_timestamp_seconds ");
    }

    [Test]
    public async Task A_bad_pair_keeps_the_old_one_logged_once_and_counted()
    {
        using var files = new TestCertificate();
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink, o => o with { CertPath = files.CertPath, KeyPath = files.KeyPath });
        string serving = await ServedCertificate.SerialAsync(gw.HttpsAddress);
        var certificate = gw.App.Certificate!;

        var other = NewPair();
        var expired = NewPair(DateTimeOffset.UtcNow.AddDays(-10), DateTimeOffset.UtcNow.AddDays(-1));
        var bad = new (string Cert, string Key, string Why)[]
        {
            (NewPair().Cert, other.Key, "a key that is not the certificate's"),
            (expired.Cert, expired.Key, "an expired certificate"),
            ("not a certificate", other.Key, "not PEM"),
        };
        for (int i = 0; i < bad.Length; i++)
        {
            Swap(files, bad[i].Cert, bad[i].Key);
            await Assert.That(await Poll.UntilAsync(() => certificate.Failures == i + 1, TimeSpan.FromSeconds(30))).IsTrue().Because(bad[i].Why);
            // More reads of the same files, as the once-a-second loop makes them: not logged or counted again.
            // Made here rather than slept for, so they surely happened however slow the machine.
            for (int read = 0; read < 3; read++)
                await Assert.That(certificate.TryReload("the files changed", force: false)).IsFalse();
            await Assert.That(certificate.Failures).IsEqualTo(i + 1);
            await Assert.That(await ServedCertificate.SerialAsync(gw.HttpsAddress)).IsEqualTo(serving);
        }
        await Assert.That(gw.Logs.Lines.Count(l => l.Contains("not reloaded"))).IsEqualTo(bad.Length);
        await Assert.That(certificate.Reloads).IsEqualTo(0);
        using var client = Client(gw.HttpsAddress, newConnectionEachTime: true);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/ping") { Content = new ByteArrayContent([]) };
        request.Headers.Add("X-Polymur-Key", "123");
        await Assert.That((int)(await client.SendAsync(request)).StatusCode).IsEqualTo(200);
        using var stats = gw.StatsClient();
        await Assert.That(await stats.GetStringAsync("/metrics")).Contains("polymur_gateway_tls_certificate_reloads_total{result=\"failed\"} 3\n");

        // A good pair afterwards is taken.
        var good = NewPair();
        Swap(files, good.Cert, good.Key);
        await Assert.That(await Poll.UntilAsync(async () => await ServedCertificate.SerialAsync(gw.HttpsAddress) == good.Serial, TimeSpan.FromSeconds(30))).IsTrue();
    }

    [Test]
    public async Task Sighup_reloads_a_gateway_process_at_once()
    {
        using var files = new TestCertificate();
        await using var sink = TcpSink.Start();
        await using var gw = GatewayProcess.Start(GatewayProcess.JitBinary,
            ["-dev-mode", "-listen-addr", "127.0.0.1", "-listen-http-port", "0", "-listen-https-port", "0", "-api-addr", "127.0.0.1:0",
             "-stat-addr", "127.0.0.1:0", "-destinations", sink.Address, "-cert", files.CertPath, "-key", files.KeyPath]);
        string https = await gw.WaitForUrlAsync("https://");
        var next = NewPair();
        Swap(files, next.Cert, next.Key);
        gw.Signal(Posix.SIGHUP);
        // Either the signal or the file watch (once a second) takes the new pair: on a loaded machine the watch can
        // get there first, and the signal then finds nothing new. What matters is that SIGHUP does not end the
        // process and the new pair serves.
        await Assert.That(await gw.WaitForLogAsync("TLS certificate reloaded (", TimeSpan.FromSeconds(30))).IsTrue();
        await Assert.That(await ServedCertificate.SerialAsync(https)).IsEqualTo(next.Serial);
        await Assert.That(gw.Exited).IsFalse();
    }
}
