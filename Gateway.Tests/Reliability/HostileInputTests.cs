using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Reliability;

/// <summary>
/// 10,000 generated hostile requests against the published native binary: it never dies, every request gets
/// its documented status, its RSS stays under a stated bound throughout, and the valid lines of mixed batches
/// arrive exactly once. Plus the two attacks that need a raw socket: slow loris and an HTTP/2 stream flood.
/// </summary>
[Category("hostile")]
[NotInParallel]
public class HostileInputTests
{
    /// <summary>RSS bound at the default limits: 4 decode slots x 64 MiB batches, the runtime, and slack for GC timing (measured: 310 MiB alone, up to 515 MiB with the whole suite running beside it).</summary>
    public const long RssBoundBytes = 768L << 20;

    [Test]
    public async Task Ten_thousand_hostile_requests()
    {
        await using var sink = TcpSink.Start();
        await using var gw = GatewayProcess.Start(GatewayProcess.NativeBinary,
            ["-dev-mode", "-listen-addr", "127.0.0.1", "-listen-http-port", "0", "-destinations", sink.Address, "-summary-interval", "0"]);
        string address = await gw.WaitForHttpAsync();
        var rss = new RssSampler(gw.Id);

        var corpus = HostileCorpus.Generate(seed: 7, count: 10_000).ToList();
        var queue = new ConcurrentQueue<HostileRequest>(corpus);
        var mismatches = new ConcurrentBag<string>();
        var byKind = new ConcurrentDictionary<string, int>();
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 8 }) { BaseAddress = new Uri(address), Timeout = TimeSpan.FromSeconds(60) };
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            while (queue.TryDequeue(out var r))
            {
                int status = await SendAsync(http, r);
                byKind.AddOrUpdate(r.Kind, 1, (_, n) => n + 1);
                if (status != r.ExpectedStatus)
                    mismatches.Add($"{r.Kind}: expected {r.ExpectedStatus}, got {status}");
            }
        })));
        await rss.DisposeAsync();
        long peakRss = rss.Peak;

        var expectedLines = corpus.SelectMany(r => r.ValidLines).ToList();
        await sink.WaitForAsync(expectedLines.Count, TimeSpan.FromSeconds(30));
        var got = await sink.SettleAsync();
        Console.WriteLine($"hostile: {corpus.Count} requests, {byKind.Count} kinds: {string.Join(", ", byKind.OrderBy(k => k.Key).Select(k => $"{k.Key} {k.Value}"))}");
        Console.WriteLine($"hostile: peak RSS {peakRss >> 20} MiB; {expectedLines.Count} valid lines expected, {got.Count} delivered");

        await Assert.That(corpus.Count).IsGreaterThanOrEqualTo(10_000);
        await Assert.That(mismatches.Count).IsEqualTo(0).Because(string.Join("; ", mismatches.Take(5)));
        await Assert.That(gw.Exited).IsFalse();
        await Assert.That(peakRss).IsLessThan(RssBoundBytes);
        await Assert.That(got.Count).IsEqualTo(expectedLines.Count);
        await Assert.That(got.ToHashSet().SetEquals(expectedLines)).IsTrue();
    }

    [Test]
    public async Task Slow_loris_bodies_are_cut_off_and_the_gateway_keeps_serving()
    {
        await using var gw = GatewayProcess.Start(GatewayProcess.NativeBinary, ["-dev-mode", "-console-out", "-listen-addr", "127.0.0.1", "-listen-http-port", "0"]);
        var uri = new Uri(await gw.WaitForHttpAsync());

        // 20 clients dribble a body one byte every 500 ms: under Kestrel's minimum rate (240 B/s after a 5 s
        // grace), so each connection must be cut by the server; none may hold it open.
        var lorises = Enumerable.Range(0, 20).Select(async _ =>
        {
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(uri.Host, uri.Port);
            var stream = tcp.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes("POST /ingest HTTP/1.1\r\nHost: x\r\nX-Polymur-Key: 123\r\nContent-Length: 100000\r\n\r\n"));
            var clock = System.Diagnostics.Stopwatch.StartNew();
            for (int i = 0; i < 120; i++)
            {
                try
                {
                    await stream.WriteAsync(new byte[] { 0x1f });
                    if (tcp.Client.Poll(0, SelectMode.SelectRead) && tcp.Client.Available == 0)
                        return clock.Elapsed; // closed by the server
                }
                catch (IOException)
                {
                    return clock.Elapsed; // reset by the server
                }
                await Task.Delay(500);
            }
            return TimeSpan.MaxValue;
        }).ToArray();
        var cutAfter = await Task.WhenAll(lorises);
        using var client = new ProxyClient(uri.ToString());
        Console.WriteLine($"slow loris: connections cut after {cutAfter.Min().TotalSeconds:0.0} to {cutAfter.Max().TotalSeconds:0.0} s");

        // Every one cut by the server (Kestrel's rate check makes it about 6 s); a minute of dribbling is the
        // generous deadline, so a slow machine is not taken for a gateway that lets a loris stay.
        await Assert.That(cutAfter.All(t => t != TimeSpan.MaxValue)).IsTrue();
        await Assert.That((await client.PingAsync("123")).Status).IsEqualTo(200);
        await Assert.That(gw.Exited).IsFalse();
    }

    [Test]
    public async Task An_http2_stream_flood_is_refused_past_the_stream_limit_and_the_gateway_keeps_serving()
    {
        using var cert = new TestCertificate();
        await using var gw = GatewayProcess.Start(GatewayProcess.NativeBinary,
            ["-dev-mode", "-console-out", "-listen-addr", "127.0.0.1", "-listen-http-port", "0", "-listen-https-port", "0", "-cert", cert.CertPath, "-key", cert.KeyPath]);
        await gw.WaitForHttpAsync();
        var https = new Uri(await gw.WaitForUrlAsync("https://"));

        using var tcp = new TcpClient();
        await tcp.ConnectAsync(https.Host, https.Port);
        using var tls = new SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost", ApplicationProtocols = [SslApplicationProtocol.Http2] });
        await Assert.That(tls.NegotiatedApplicationProtocol).IsEqualTo(SslApplicationProtocol.Http2);

        // Preface, empty SETTINGS, then 500 request streams opened at once and never finished.
        var frames = new MemoryStream();
        frames.Write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8);
        Frame(frames, type: 0x4, flags: 0, stream: 0, []);
        byte[] headers = [0x83, 0x87, 0x04, 5, .. "/ping"u8, 0x01, 9, .. "localhost"u8, 0x00, 13, .. "x-polymur-key"u8, 3, .. "123"u8];
        for (int i = 0; i < 500; i++)
            Frame(frames, type: 0x1, flags: 0x4, stream: 2 * i + 1, headers); // HEADERS, END_HEADERS, no END_STREAM
        await tls.WriteAsync(frames.ToArray());

        int refused = 0, goaway = 0;
        bool cut = false;
        var buffer = new byte[9];
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            while (refused + goaway == 0 || refused < 400)
            {
                await tls.ReadExactlyAsync(buffer, limit.Token);
                int length = (buffer[0] << 16) | (buffer[1] << 8) | buffer[2];
                var payload = new byte[length];
                await tls.ReadExactlyAsync(payload, limit.Token);
                if (buffer[3] == 0x3)
                    refused++;
                else if (buffer[3] == 0x7)
                {
                    goaway++;
                    break;
                }
            }
        }
        catch (Exception e) when (e is EndOfStreamException or IOException)
        {
            cut = true; // under load Kestrel may drop the abusive connection outright: also a defence
        }
        catch (OperationCanceledException)
        {
        }
        Console.WriteLine($"h2 flood: {refused} streams reset, {goaway} GOAWAY, connection cut: {cut}");

        await Assert.That(refused + goaway > 0 || cut).IsTrue();
        using var client = new ProxyClient(https.ToString(), new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true } }) { Version = HttpVersion.Version20 };
        await Assert.That((await client.PingAsync("123")).Status).IsEqualTo(200);
        await Assert.That(gw.Exited).IsFalse();
    }

    private static void Frame(Stream output, byte type, byte flags, int stream, byte[] payload)
    {
        output.Write([(byte)(payload.Length >> 16), (byte)(payload.Length >> 8), (byte)payload.Length, type, flags,
            (byte)(stream >> 24), (byte)(stream >> 16), (byte)(stream >> 8), (byte)stream]);
        output.Write(payload);
    }

    private static async Task<int> SendAsync(HttpClient http, HostileRequest r)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/ingest") { Content = new ByteArrayContent(r.Body) };
        if (r.Key is not null)
            request.Headers.TryAddWithoutValidation("X-Polymur-Key", r.Key);
        if (r.KeyHeaderBytes > 0)
            request.Headers.TryAddWithoutValidation("X-Polymur-Key", new string('k', r.KeyHeaderBytes));
        for (int h = 0; h < r.ExtraHeaders; h++)
            request.Headers.TryAddWithoutValidation($"X-Junk-{h}", "v");
        try
        {
            using var response = await http.SendAsync(request);
            return (int)response.StatusCode;
        }
        catch (HttpRequestException)
        {
            return -1;
        }
    }
}
