using Polymur.Gateway.Configuration;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Outputs;

/// <summary>tls:// destinations against a real carbon-c-relay with an ssl listener (Debian's).</summary>
public class TlsDestinationTests
{
    private static DestinationAddress Tls(string text) =>
        DestinationAddress.TryParse(text, out var address, out string error) ? address! : throw new FormatException(error);

    [Test]
    public async Task Every_line_reaches_carbon_c_relay_over_verified_tls()
    {
        using var certificate = new TestCertificate();
        await using var relay = await CarbonCRelay.StartTlsAsync(certificate);
        await using var gw = await TestGateway.StartAsync([], o => o with
        {
            Destinations = [Tls($"tls://127.0.0.1:{relay.Port}")],
            DestinationCaPath = certificate.CertPath,
        });
        using var client = gw.Client();
        for (int i = 0; i < 10; i++)
            await Assert.That((await client.IngestAsync("123", ProxyClient.Lines($"tls.b{i}", 1000))).Status).IsEqualTo(200);

        await Assert.That(await Poll.UntilAsync(() => relay.Lines.Count >= 10_000, TimeSpan.FromSeconds(20))).IsTrue();
        var expected = Enumerable.Range(0, 10).SelectMany(i => ProxyClient.Lines($"tls.b{i}", 1000).Split('\n', StringSplitOptions.RemoveEmptyEntries)).ToHashSet();
        await Assert.That(relay.Lines.ToHashSet().SetEquals(expected)).IsTrue();
        var destination = gw.App.Destinations.Current[0];
        await Assert.That(destination.Counters.TlsFailures).IsEqualTo(0);
        await Assert.That(destination.Name).IsEqualTo($"127.0.0.1:{relay.Port}");
        await Assert.That(destination.Tls).IsTrue();
    }

    [Test]
    public async Task The_admin_api_adds_a_tls_destination_and_shows_it()
    {
        using var certificate = new TestCertificate();
        await using var relay = await CarbonCRelay.StartTlsAsync(certificate);
        await using var gw = await TestGateway.StartAsync([], o => o with { DestinationCaPath = certificate.CertPath });
        using var admin = gw.AdminClient();
        var added = await admin.PostAsync("/destinations", new StringContent($"{{\"address\": \"tls://127.0.0.1:{relay.Port}:r1\"}}", System.Text.Encoding.UTF8, "application/json"));
        await Assert.That((int)added.StatusCode).IsEqualTo(201);
        string view = await added.Content.ReadAsStringAsync();
        await Assert.That(view).Contains("\"tls\": true");
        await Assert.That(view).Contains($"\"name\": \"127.0.0.1:{relay.Port}:r1\"");
        using var client = gw.Client();
        await Assert.That((await client.IngestAsync("123", ProxyClient.Lines("admin.tls", 100))).Status).IsEqualTo(200);
        await Assert.That(await Poll.UntilAsync(() => relay.Lines.Count == 100, TimeSpan.FromSeconds(10))).IsTrue();
    }

    [Test]
    [Arguments("another CA")]
    [Arguments("a name the certificate does not have")]
    public async Task A_failed_verification_is_a_down_destination_logged_once_counted_and_spooled(string why)
    {
        using var relayCertificate = new TestCertificate(loopbackAddress: why == "another CA");
        using var otherCa = new TestCertificate();
        await using var relay = await CarbonCRelay.StartTlsAsync(relayCertificate);
        string spool = Directory.CreateTempSubdirectory("pgw-tls-spool-").FullName;
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync([sink], o => o with
        {
            // The first case trusts another root; the second trusts the relay's, but dials 127.0.0.1, a name its certificate lacks.
            Destinations = [Tls($"tls://127.0.0.1:{relay.Port}"), new("127.0.0.1", sink.Port, null)],
            DestinationCaPath = why == "another CA" ? otherCa.CertPath : relayCertificate.CertPath,
            SpoolDir = spool,
        });
        var tls = gw.App.Destinations.Current.Single(d => d.Name == $"127.0.0.1:{relay.Port}");
        await Assert.That(await Poll.UntilAsync(() => tls.Counters.TlsFailures >= 3, TimeSpan.FromSeconds(10))).IsTrue().Because($"{why}: {tls.Counters.TlsFailures} failures, connected {tls.Connected}");
        await Assert.That(tls.Down).IsTrue();

        using var client = gw.Client();
        await Assert.That((await client.IngestAsync("123", ProxyClient.Lines("kept", 500))).Status).IsEqualTo(200);
        // The plain destination gets its lines; the one that failed verification spools them.
        await Assert.That(await sink.WaitForAsync(500)).IsTrue();
        await Assert.That(await Poll.UntilAsync(() => tls.Counters.Spooled + tls.Counters.Queued == 500, TimeSpan.FromSeconds(5))).IsTrue();
        await Assert.That(relay.Lines.Count).IsEqualTo(0);
        await Assert.That(gw.Logs.Lines.Count(l => l.Contains("unreachable") && l.Contains("TLS handshake failed"))).IsEqualTo(1);
        using var stats = gw.StatsClient();
        await Assert.That(await stats.GetStringAsync("/metrics")).Contains($"polymur_gateway_destination_tls_failures_total{{destination=\"127.0.0.1:{relay.Port}\"}} ");
    }
}
