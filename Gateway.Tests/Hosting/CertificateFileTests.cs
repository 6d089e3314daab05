using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Hosting;

/// <summary>
/// -cert pointed at files that are not certificates, against the native binary (`make publish`): a FIFO nobody
/// writes (a hung secrets mount) and a link to /dev/zero (an endless file). The old watcher read them with no cap
/// on thread-pool threads, one per SIGHUP: 200 SIGHUPs on a FIFO took the pool (ingest and /healthz stopped
/// answering), /dev/zero took 4 GB and killed the watcher. Now they are refused, counted once, and the watcher
/// takes the next good pair.
/// </summary>
public partial class CertificateFileTests
{
    private static string[] Args(TcpSink sink, TestCertificate cert) =>
    [
        "-dev-mode", "-listen-addr", "127.0.0.1", "-listen-http-port", "0", "-listen-https-port", "0", "-api-addr", "127.0.0.1:0",
        "-stat-addr", "127.0.0.1:0", "-destinations", sink.Address, "-summary-interval", "0", "-cert", cert.CertPath, "-key", cert.KeyPath,
    ];

    private static async Task<string> StatsAsync(GatewayProcess gw)
    {
        await Assert.That(await gw.WaitForLogAsync("Stats listening on ", TimeSpan.FromSeconds(20))).IsTrue();
        return StatsListening().Match(gw.Stderr).Groups[1].Value;
    }

    private static int Threads(int pid) => Directory.GetDirectories($"/proc/{pid}/task").Length;

    private static string SerialOf(TestCertificate cert) => X509Certificate2.CreateFromPem(File.ReadAllText(cert.CertPath)).SerialNumber;

    // One answer within 5 s, or 0: a gateway whose thread pool is taken does not answer at all.
    private static async Task<int> StatusAsync(Func<HttpClient, Task<HttpResponseMessage>> send, string address)
    {
        using var http = new HttpClient(new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true } })
        {
            BaseAddress = new Uri(address),
            Timeout = TimeSpan.FromSeconds(5),
        };
        try
        {
            using var response = await send(http);
            return (int)response.StatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return 0;
        }
    }

    private static Task<int> IngestAsync(string address, string prefix) => StatusAsync(http =>
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/ingest") { Content = new ByteArrayContent(ProxyClient.Gzip(ProxyClient.Lines(prefix, 100))) };
        request.Headers.Add("X-Polymur-Key", "123");
        return http.SendAsync(request);
    }, address);

    private static Task<int> HealthAsync(string stats) => StatusAsync(http => http.GetAsync("/healthz"), stats);

    private static async Task<string> MetricsAsync(string stats)
    {
        using var http = new HttpClient { BaseAddress = new Uri(stats), Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            return await http.GetStringAsync("/metrics");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return "";
        }
    }

    private static void Replace(TestCertificate files, TestCertificate with)
    {
        File.Delete(files.CertPath);
        File.Copy(with.CertPath, files.CertPath);
        File.Copy(with.KeyPath, files.KeyPath, overwrite: true);
    }

    private static async Task AssertDrainsAsync(GatewayProcess gw)
    {
        gw.Signal(Posix.SIGTERM);
        await Assert.That(await gw.WaitForExitAsync(TimeSpan.FromSeconds(30))).IsEqualTo(0);
        await Assert.That(gw.Stderr).Contains("Stopped: ");
    }

    [Test]
    public async Task A_cert_that_is_a_fifo_under_sighups_leaves_ingest_and_healthz_answering()
    {
        using var files = new TestCertificate();
        using var next = new TestCertificate();
        await using var sink = TcpSink.Start();
        await using var gw = GatewayProcess.Start(GatewayProcess.NativeBinary, Args(sink, files));
        string http = await gw.WaitForHttpAsync();
        string https = await gw.WaitForUrlAsync("https://");
        string stats = await StatsAsync(gw);
        await Assert.That(await IngestAsync(http, "fifo.before")).IsEqualTo(200);
        int threadsBefore = Threads(gw.Id);

        File.Delete(files.CertPath);
        await Assert.That(Mkfifo(files.CertPath, 0x180)).IsEqualTo(0);
        for (int i = 0; i < 200; i++)
        {
            gw.Signal(Posix.SIGHUP);
            if (i % 20 == 19)
                await Task.Delay(1);
        }
        // The old watcher's reads, one thread-pool thread per SIGHUP, each blocked on the FIFO, took the pool here.
        await Assert.That(await IngestAsync(http, "fifo.during")).IsEqualTo(200);
        await Assert.That(await HealthAsync(stats)).IsEqualTo(200);
        // Refused once (not waited on), and counted once however many SIGHUPs asked.
        await Assert.That(await Poll.UntilAsync(async () => (await MetricsAsync(stats)).Contains("polymur_gateway_tls_certificate_reloads_total{result=\"failed\"} 1\n"), TimeSpan.FromSeconds(30))).IsTrue();
        await Assert.That(await IngestAsync(https, "fifo.tls")).IsEqualTo(200);
        // No thread per signal: the old watcher went from 13 to 51.
        await Assert.That(Threads(gw.Id)).IsLessThanOrEqualTo(threadsBefore + 6);
        await Assert.That(Regex.Matches(gw.Stderr, "not reloaded").Count).IsEqualTo(1);
        await Assert.That(gw.Stderr).Contains("a FIFO, not a regular file");

        Replace(files, next);
        gw.Signal(Posix.SIGHUP);
        string serial = SerialOf(next);
        await Assert.That(await Poll.UntilAsync(async () => await ServedCertificate.SerialAsync(https) == serial, TimeSpan.FromSeconds(30))).IsTrue();
        await Assert.That(await sink.WaitForAsync(300, TimeSpan.FromSeconds(30))).IsTrue();
        await AssertDrainsAsync(gw);
    }

    [Test]
    public async Task A_cert_linked_to_dev_zero_keeps_memory_bounded_and_the_watcher_working()
    {
        using var files = new TestCertificate();
        using var next = new TestCertificate();
        await using var sink = TcpSink.Start();
        await using var gw = GatewayProcess.Start(GatewayProcess.NativeBinary, Args(sink, files));
        string https = await gw.WaitForUrlAsync("https://");
        string stats = await StatsAsync(gw);
        await using var rss = new RssSampler(gw.Id);

        File.Delete(files.CertPath);
        File.CreateSymbolicLink(files.CertPath, "/dev/zero");
        gw.Signal(Posix.SIGHUP);
        await Assert.That(await Poll.UntilAsync(async () => (await MetricsAsync(stats)).Contains("polymur_gateway_tls_certificate_reloads_total{result=\"failed\"} 1\n"), TimeSpan.FromSeconds(30))).IsTrue();
        // Pacing, not a wait for an event: three more passes of the once-a-second watch and a few SIGHUPs at the
        // endless file (the old watcher passed 1 GB in that time).
        var hold = Stopwatch.StartNew();
        while (hold.Elapsed < TimeSpan.FromSeconds(3))
        {
            gw.Signal(Posix.SIGHUP);
            await Task.Delay(200);
        }
        await Assert.That(rss.Peak).IsLessThan(200L << 20);
        await Assert.That(await IngestAsync(https, "zero.tls")).IsEqualTo(200);
        await Assert.That(gw.Stderr).Contains("a device, not a regular file");

        // The watcher is alive: the good pair is taken by the file watch alone, without a SIGHUP.
        Replace(files, next);
        string serial = SerialOf(next);
        await Assert.That(await Poll.UntilAsync(async () => await ServedCertificate.SerialAsync(https) == serial, TimeSpan.FromSeconds(30))).IsTrue();
        await Assert.That(rss.Peak).IsLessThan(200L << 20);
        await AssertDrainsAsync(gw);
    }

    [Test]
    [Arguments("-cert", "fifo")]
    [Arguments("-cert", "/dev/zero")]
    [Arguments("-client-ca", "fifo")]
    [Arguments("-client-ca", "/dev/zero")]
    [Arguments("-destination-ca", "fifo")]
    public async Task A_fifo_or_device_at_start_is_a_clear_error(string flag, string what)
    {
        using var files = new TestCertificate();
        string dir = Directory.CreateTempSubdirectory("pgw-badfile-").FullName;
        try
        {
            string path = what;
            if (what == "fifo")
            {
                path = Path.Combine(dir, "file.pem");
                await Assert.That(Mkfifo(path, 0x180)).IsEqualTo(0);
            }
            var args = new List<string> { "-dev-mode", "-listen-addr", "127.0.0.1", "-listen-http-port", "0", "-destinations", "127.0.0.1:1" };
            args.AddRange(flag switch
            {
                "-cert" => ["-listen-https-port", "0", "-cert", path, "-key", files.KeyPath],
                "-client-ca" => ["-listen-https-port", "0", "-cert", files.CertPath, "-key", files.KeyPath, "-client-ca", path, "-client-auth", "optional"],
                _ => ["-destination-ca", path],
            });
            var (code, _, stderr) = await GatewayProcess.RunAsync(GatewayProcess.NativeBinary, args);
            await Assert.That(code).IsEqualTo(2);
            await Assert.That(stderr).Contains($"{flag} (");
            await Assert.That(stderr).Contains(what == "fifo" ? "a FIFO, not a regular file" : "a device, not a regular file");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [GeneratedRegex(@"Stats listening on (http://\S+) ")]
    private static partial Regex StatsListening();

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "mkfifo", StringMarshalling = System.Runtime.InteropServices.StringMarshalling.Utf8)]
    private static partial int Mkfifo(string path, uint mode);
}
