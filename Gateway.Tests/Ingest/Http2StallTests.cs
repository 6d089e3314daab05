using System.Diagnostics;
using System.IO.Compression;
using System.Net.Sockets;
using System.Text;
using Polymur.Gateway.Configuration;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Ingest;

/// <summary>
/// Issue 23, F5: one HTTP/2 client multiplexing batches on one connection froze every decode slot, and so all
/// ingest on every listener (h2load: 0 of 16 streams of 132 KB done in 20 s). Real h2load and curl over the
/// in-process gateway's HTTPS listener, HTTP/1.1 senders on its plain one meanwhile; plus the waits' deadlines.
/// </summary>
[NotInParallel("h2-load")]
public class Http2StallTests
{
    // Generous: on a loaded 2-core machine 256 batches of 50,000 lines take seconds; the old code never finished.
    private static readonly TimeSpan ClientDeadline = TimeSpan.FromSeconds(90);

    [Test]
    [Arguments(1, 16, 50_000)]
    [Arguments(16, 16, 50_000)]
    [Arguments(1, 16, 7_000)]
    [Arguments(16, 16, 7_000)]
    public async Task H2load_streams_all_complete_while_http1_senders_keep_completing(int connections, int streams, int lines)
    {
        using var cert = new TestCertificate();
        await using var sink = CountingSink.Start();
        await using var gw = await StartAsync(cert, sink);
        using var body = new BodyFile(lines);
        int requests = connections * streams;
        await using var plain = new PlainSenders(gw.HttpAddress);
        var alone = await plain.MeasureAloneAsync(20);

        plain.Start();
        var run = await ClientTool.RunAsync(ClientTool.H2load,
            ["-n", $"{requests}", "-c", $"{connections}", "-m", $"{streams}", "-t", "1", $"--data={body.Path}", "-H", "x-polymur-key: 123", gw.HttpsAddress + "/ingest"],
            ClientDeadline);
        var during = await plain.StopAsync();
        Console.WriteLine($"h2load {connections}x{streams} of {body.Length} B: {Line(run.Output, "requests:")}; {Line(run.Output, "status codes:")}");
        Console.WriteLine($"HTTP/1.1 meanwhile: {during.Count} batches, p99 {during.P99Ms:0.0} ms (alone {alone.P99Ms:0.0} ms), failures {during.Failures}");

        await Assert.That(run.Finished).IsTrue().Because(run.Output);
        await Assert.That(run.Output).Contains($"{requests} succeeded, 0 failed, 0 errored, 0 timeout");
        await Assert.That(run.Output).Contains($"status codes: {requests} 2xx, 0 3xx, 0 4xx, 0 5xx");
        await Assert.That(during.Failures).IsEqualTo(0);
        await Assert.That(during.Count).IsGreaterThan(0);
        long expected = (long)requests * lines + during.Lines + alone.Lines;
        await Assert.That(await Poll.UntilAsync(() => sink.Lines >= expected, ClientDeadline)).IsTrue();
    }

    [Test]
    [Arguments(1, 16, 50_000)]
    [Arguments(16, 16, 50_000)]
    [Arguments(1, 16, 7_000)]
    [Arguments(16, 16, 7_000)]
    public async Task Curl_parallel_http2_requests_all_complete_while_http1_senders_keep_completing(int processes, int parallel, int lines)
    {
        using var cert = new TestCertificate();
        await using var sink = CountingSink.Start();
        await using var gw = await StartAsync(cert, sink);
        using var body = new BodyFile(lines);
        await using var plain = new PlainSenders(gw.HttpAddress);

        plain.Start();
        // Each curl multiplexes its requests on one h2 connection (--parallel waits for multiplexing by default).
        List<string> args = ["-s", "-k", "--http2", "--parallel", "--parallel-max", $"{parallel}", "-m", "120",
            "-w", "%{http_version} %{http_code} %{num_connects}\\n", "-H", "X-Polymur-Key: 123", "--data-binary", $"@{body.Path}"];
        for (int i = 0; i < parallel; i++)
            args.AddRange(["-o", "/dev/null", gw.HttpsAddress + "/ingest"]);
        var runs = await Task.WhenAll(Enumerable.Range(0, processes).Select(_ => ClientTool.RunAsync(ClientTool.Curl, args, ClientDeadline)));
        var during = await plain.StopAsync();
        // The -w lines: protocol, status, connections opened (curl's error messages are the other lines).
        var answers = runs.SelectMany(r => r.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            .Where(l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^[0-9.]+ [0-9]{3} [0-9]+$")).ToList();
        int connects = answers.Sum(a => int.TryParse(a.Split(' ').Last(), out int n) ? n : 0);
        Console.WriteLine($"curl {processes}x{parallel} of {body.Length} B: {answers.Count(a => a.StartsWith("2 200 ", StringComparison.Ordinal))} answered 2 200 on {connects} connections");
        Console.WriteLine($"HTTP/1.1 meanwhile: {during.Count} batches, p99 {during.P99Ms:0.0} ms, failures {during.Failures}");

        await Assert.That(runs.All(r => r.Finished)).IsTrue();
        await Assert.That(answers.Count).IsEqualTo(processes * parallel).Because(string.Join("\n", runs.Select(r => r.Output)));
        await Assert.That(answers.All(a => a.StartsWith("2 200 ", StringComparison.Ordinal))).IsTrue().Because(string.Join("; ", answers.Distinct()));
        await Assert.That(during.Failures).IsEqualTo(0);
        await Assert.That(during.Count).IsGreaterThan(0);
        long expected = (long)processes * parallel * lines + during.Lines;
        await Assert.That(await Poll.UntilAsync(() => sink.Lines >= expected, ClientDeadline)).IsTrue();
    }

    [Test]
    public async Task A_body_still_coming_does_not_hold_the_only_decoder()
    {
        // Before: the decode slot was taken before the body was read, so one slow upload (here a body sent at
        // 800 B/s, over Kestrel's minimum rate) held the only decoder until it ended, and every other request waited.
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink, o => o with { MaxConcurrentDecodes = 1 });
        await using var slow = await Dribbler.StartAsync(gw.HttpAddress, contentLength: 1_000_000, first: 1024);
        await Assert.That(await Poll.UntilAsync(async () => await BatchMemoryAsync(gw) > 0, TimeSpan.FromSeconds(30))).IsTrue();

        using var client = gw.Client();
        var reply = client.IngestAsync("123", ProxyClient.Lines("beside.slow", 1000));

        await Assert.That(await Poll.FinishesAsync(reply, TimeSpan.FromSeconds(30))).IsTrue();
        await Assert.That((await reply).Status).IsEqualTo(200);
        await Assert.That(slow.StillSending).IsTrue();
        await Assert.That(await sink.WaitForAsync(1000)).IsTrue();
    }

    [Test]
    public async Task A_request_that_finds_no_memory_for_queue_wait_gets_503_with_retry_after()
    {
        // 16 bodies still coming, 64 KiB of buffer each, hold all of a 1 MiB -max-batch-memory.
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink, o => o with { MaxBatchMemory = 1L << 20, MaxBatchSize = 512L << 10, TenantMaxInflight = 64 });
        var holders = new List<Dribbler>();
        try
        {
            for (int i = 0; i < 16; i++)
                holders.Add(await Dribbler.StartAsync(gw.HttpAddress, contentLength: 60_000, first: 20_000));
            await Assert.That(await Poll.UntilAsync(async () => await BatchMemoryAsync(gw) >= 1L << 20, TimeSpan.FromSeconds(30))).IsTrue();

            using var client = gw.Client();
            var reply = client.SendAsync("/ingest", "123", new BodyBytes(7_000).Gzip);

            await Assert.That(await Poll.FinishesAsync(reply, TimeSpan.FromSeconds(30))).IsTrue();
            await Assert.That((await reply).Status).IsEqualTo(503);
            await Assert.That((await reply).RetryAfter).IsEqualTo("1");
            await Assert.That((await reply).Body).StartsWith("gateway busy:");
            await Assert.That(gw.App.Counters.Refused(503)).IsGreaterThanOrEqualTo(1);
        }
        finally
        {
            foreach (var holder in holders)
                await holder.DisposeAsync();
        }
        // Once the holders are gone the memory is back, and so are the 200s.
        using var after = gw.Client();
        await Assert.That(await Poll.UntilAsync(async () => (await after.IngestAsync("123", ProxyClient.Lines("after", 100))).Status == 200, TimeSpan.FromSeconds(30))).IsTrue();
    }

    [Test]
    public async Task A_body_sent_below_the_minimum_rate_is_still_cut_off_with_408()
    {
        // Reading the body before the slot keeps Kestrel's minimum body data rate (240 B/s after a 5 s grace).
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink);
        var uri = new Uri(gw.HttpAddress);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(uri.Host, uri.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes("POST /ingest HTTP/1.1\r\nHost: x\r\nX-Polymur-Key: 123\r\nContent-Length: 100000\r\n\r\n"));
        await stream.WriteAsync(new BodyBytes(1000).Gzip.AsMemory(0, 10));
        var answer = ReadAnswerAsync(stream);
        var clock = Stopwatch.StartNew();
        // A byte every 500 ms, for at most a minute: the generous deadline for the server's cut.
        while (!answer.IsCompleted && clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            try
            {
                await stream.WriteAsync(new byte[] { 0 });
            }
            catch (IOException)
            {
                break;
            }
            await Task.WhenAny(answer, Task.Delay(500));
        }

        await Assert.That(await Poll.FinishesAsync(answer, TimeSpan.FromSeconds(30))).IsTrue();
        await Assert.That(await answer).StartsWith("HTTP/1.1 408");
        await Assert.That(gw.App.Counters.Refused(408)).IsEqualTo(1);
    }

    private static async Task<string> ReadAnswerAsync(NetworkStream stream)
    {
        var buffer = new byte[4096];
        int read = await stream.ReadAsync(buffer);
        return Encoding.ASCII.GetString(buffer, 0, read);
    }

    private static Task<TestGateway> StartAsync(TestCertificate cert, CountingSink sink) =>
        TestGateway.StartAsync([], o => o with
        {
            CertPath = cert.CertPath,
            KeyPath = cert.KeyPath,
            Destinations = [new DestinationAddress("127.0.0.1", sink.Port, null)],
            // Every batch here must get its 200: a busy machine may make a request wait, never refuse it.
            QueueWait = TimeSpan.FromSeconds(60),
        });

    private static async Task<long> BatchMemoryAsync(TestGateway gw)
    {
        using var stats = gw.StatsClient();
        string text = await stats.GetStringAsync("/metrics");
        string? line = text.Split('\n').FirstOrDefault(l => l.StartsWith("polymur_gateway_batch_memory_bytes ", StringComparison.Ordinal));
        return line is null ? 0 : (long)double.Parse(line.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static string Line(string output, string start) =>
        output.Split('\n').FirstOrDefault(l => l.StartsWith(start, StringComparison.Ordinal))?.Trim() ?? $"(no '{start}' line)";

    /// <summary>The probe's bodies: N lines <c>fx.mNNNNNN 1 1700000000</c>, gzip level 6 (50,000: 132 KB, 7,000: 18 KB).</summary>
    private sealed class BodyBytes(int lines)
    {
        public byte[] Gzip { get; } = Build(lines);

        private static byte[] Build(int lines)
        {
            var text = new StringBuilder();
            for (int j = 0; j < lines; j++)
                text.Append("fx.m").Append(j.ToString("D6", System.Globalization.CultureInfo.InvariantCulture)).Append(" 1 1700000000\n");
            var output = new MemoryStream();
            using (var gzip = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true))
                gzip.Write(Encoding.ASCII.GetBytes(text.ToString()));
            return output.ToArray();
        }
    }

    /// <summary>A body as a file, for the command-line clients.</summary>
    private sealed class BodyFile : IDisposable
    {
        public BodyFile(int lines)
        {
            var bytes = new BodyBytes(lines).Gzip;
            Length = bytes.Length;
            Path = System.IO.Path.GetTempFileName();
            File.WriteAllBytes(Path, bytes);
        }

        public string Path { get; }

        public int Length { get; }

        public void Dispose() => File.Delete(Path);
    }

    /// <summary>
    /// An HTTP/1.1 upload that keeps coming: headers, <c>first</c> bytes of a gzip body at once, then 200 bytes
    /// every 250 ms (800 B/s, over Kestrel's minimum rate) until disposed.
    /// </summary>
    private sealed class Dribbler : IAsyncDisposable
    {
        private readonly TcpClient _tcp;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _sending;

        private Dribbler(TcpClient tcp, byte[] body, int first)
        {
            _tcp = tcp;
            _sending = SendAsync(tcp.GetStream(), body, first);
        }

        /// <summary>True while it has more to send and the gateway has not cut it off.</summary>
        public bool StillSending => !_sending.IsCompleted;

        public static async Task<Dribbler> StartAsync(string address, int contentLength, int first)
        {
            var uri = new Uri(address);
            var tcp = new TcpClient();
            await tcp.ConnectAsync(uri.Host, uri.Port);
            // Incompressible, so the gzip stream is as long as the body; only its start is ever sent.
            var random = new byte[contentLength];
            new Random(contentLength).NextBytes(random);
            var gzip = new MemoryStream();
            using (var writer = new GZipStream(gzip, CompressionLevel.Fastest, leaveOpen: true))
                writer.Write(random);
            byte[] body = gzip.ToArray()[..contentLength];
            await tcp.GetStream().WriteAsync(Encoding.ASCII.GetBytes($"POST /ingest HTTP/1.1\r\nHost: x\r\nX-Polymur-Key: 123\r\nContent-Length: {contentLength}\r\n\r\n"));
            return new Dribbler(tcp, body, first);
        }

        private async Task SendAsync(NetworkStream stream, byte[] body, int first)
        {
            try
            {
                await stream.WriteAsync(body.AsMemory(0, first), _stop.Token);
                for (int sent = first; sent + 200 < body.Length && !_stop.IsCancellationRequested; sent += 200)
                {
                    await Task.Delay(250, _stop.Token);
                    await stream.WriteAsync(body.AsMemory(sent, 200), _stop.Token);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or IOException)
            {
            }
        }

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            await _sending;
            _tcp.Dispose();
        }
    }

    /// <summary>Two HTTP/1.1 senders on the plain listener, posting 1,000-line batches one after another, timed.</summary>
    private sealed class PlainSenders(string address) : IAsyncDisposable
    {
        private readonly ProxyClient _client = new(address);
        private readonly CancellationTokenSource _stop = new();
        private readonly List<double> _latencies = [];
        private Task[] _workers = [];
        private int _failures, _batch;

        public sealed record Figures(int Count, double P99Ms, int Failures, long Lines);

        /// <summary>The senders' figures with nothing else going on (after a few batches to warm up).</summary>
        public async Task<Figures> MeasureAloneAsync(int count)
        {
            for (int i = 0; i < 5; i++)
                await SendAsync();
            Take();
            for (int i = 0; i < count; i++)
                await SendAsync();
            return Take();
        }

        public void Start() => _workers = [.. Enumerable.Range(0, 2).Select(_ => Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
                await SendAsync();
        }))];

        public async Task<Figures> StopAsync()
        {
            // At least a few batches while the h2 load ran, however fast it went.
            await Poll.UntilAsync(() => { lock (_latencies) return _latencies.Count + _failures >= 4; }, ClientDeadline);
            _stop.Cancel();
            await Task.WhenAll(_workers);
            return Take();
        }

        private async Task SendAsync()
        {
            var clock = Stopwatch.StartNew();
            try
            {
                var reply = await _client.IngestAsync("123", ProxyClient.Lines($"plain.b{Interlocked.Increment(ref _batch)}", 1000));
                lock (_latencies)
                {
                    if (reply.Status == 200)
                        _latencies.Add(clock.Elapsed.TotalMilliseconds);
                    else
                        _failures++;
                }
            }
            catch (Exception) when (!_stop.IsCancellationRequested)
            {
                lock (_latencies)
                    _failures++;
            }
            catch (Exception)
            {
            }
        }

        private Figures Take()
        {
            lock (_latencies)
            {
                var sorted = _latencies.Order().ToList();
                double p99 = sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(sorted.Count * 0.99) - 1)];
                var figures = new Figures(sorted.Count, p99, _failures, sorted.Count * 1000L);
                _latencies.Clear();
                _failures = 0;
                return figures;
            }
        }

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            await Task.WhenAll(_workers);
            _client.Dispose();
        }
    }
}
