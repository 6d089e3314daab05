using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using static BenchParts;

/// <summary>
/// <c>fair-queue</c> (issue 23, F14): the destination is the bottleneck, not the CPU. A sink that reads at a fixed
/// rate, a tenant flooding it with no quota (50 connections of 50,000-line batches), and a polite tenant offering
/// 10 batches of 1000 lines a second over 2 connections. Prints what the polite tenant offered and got, and the
/// flood's rate.
/// </summary>
internal static class QueueFairnessBench
{
    private const int FloodConnections = 50, FloodLines = 50_000, PoliteConnections = 2, PoliteBatchesPerSecond = 10, PoliteLines = 1000;

    public static async Task<int> RunAsync(string binary, string consulBinary, double seconds, int sinkBytesPerSecond, string[] flags)
    {
        int consulPort = FreePort();
        using var consul = StartConsul(consulBinary, consulPort);
        var kv = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{consulPort}/") };
        await WaitAsync(async () => (await kv.GetStringAsync("v1/status/leader")).Contains(':'));
        string polite = NewKey(), flood = NewKey();
        (await kv.PutAsync("v1/kv/polymur/gateway/keys/polite", new StringContent(polite))).EnsureSuccessStatusCode();
        (await kv.PutAsync("v1/kv/polymur/gateway/keys/flood", new StringContent(flood))).EnsureSuccessStatusCode();
        using var sink = new SlowSink(sinkBytesPerSecond);
        int httpPort = FreePort(), statPort = FreePort();
        using var gateway = Process.Start(new ProcessStartInfo("taskset", ["-c", "0", binary,
            "-listen-addr", "127.0.0.1", "-listen-http-port", httpPort.ToString(), "-api-addr", "127.0.0.1:0",
            "-stat-addr", $"127.0.0.1:{statPort}", "-destinations", $"127.0.0.1:{sink.Port}", "-summary-interval", "0", .. flags])
        { Environment = { ["CONSUL_HTTP_ADDR"] = $"127.0.0.1:{consulPort}" }, RedirectStandardError = true })!;
        _ = gateway.StandardError.ReadToEndAsync();
        var stats = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{statPort}/") };
        await WaitAsync(async () => (await stats.GetStringAsync("metrics")).Contains("polymur_gateway_api_keys 2\n"));
        var url = new Uri($"http://127.0.0.1:{httpPort}/ingest");

        byte[] floodBody = Gzip(string.Concat(Enumerable.Range(0, FloodLines).Select(i => $"fx.m{i:000000} 1 1700000000\n")));
        byte[] politeBody = Gzip(string.Concat(Enumerable.Range(0, PoliteLines).Select(i => $"po.m{i:00000} 1 1700000000\n")));
        using var stop = new CancellationTokenSource();
        var floodCounts = new Counts();
        using var floodClient = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = FloodConnections }) { Timeout = TimeSpan.FromSeconds(30) };
        var flooders = Enumerable.Range(0, FloodConnections).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
                await PostAsync(floodClient, url, flood, floodBody, floodCounts, stop.Token);
        })).ToArray();
        await Task.Delay(2000); // the flood fills the socket buffers and the queue first

        floodCounts.Reset();
        var politeCounts = new Counts();
        var clock = Stopwatch.StartNew();
        long sinkBefore = sink.Bytes;
        var politeSenders = Enumerable.Range(0, PoliteConnections).Select(_ => Task.Run(async () =>
        {
            using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            var period = TimeSpan.FromSeconds((double)PoliteConnections / PoliteBatchesPerSecond);
            var next = clock.Elapsed;
            while (clock.Elapsed.TotalSeconds < seconds)
            {
                await PostAsync(client, url, polite, politeBody, politeCounts, CancellationToken.None);
                next += period; // a proxy that fell behind sends what it has at once
                var wait = next - clock.Elapsed;
                if (wait > TimeSpan.Zero)
                    await Task.Delay(wait);
            }
        })).ToArray();
        await Task.WhenAll(politeSenders);
        double elapsed = clock.Elapsed.TotalSeconds;
        long floodAccepted = floodCounts.Accepted, floodRefused = floodCounts.Refused;
        double sinkRate = (sink.Bytes - sinkBefore) / elapsed;
        stop.Cancel();
        try
        {
            await Task.WhenAll(flooders);
        }
        catch (OperationCanceledException)
        {
        }

        double offered = PoliteBatchesPerSecond * PoliteLines, got = politeCounts.Accepted * PoliteLines / elapsed;
        Console.WriteLine($"fair share at a slow destination ({sinkBytesPerSecond / 1e6:0.#} MB/s), flood with no quota ({FloodConnections} connections, {FloodLines}-line batches), {elapsed:0.0} s, {(flags.Length == 0 ? "default flags" : string.Join(' ', flags))}, gateway on one core:");
        Console.WriteLine($"  polite: offered {offered:0} points/s, accepted {got:0} points/s ({got / offered:0.0%}); {politeCounts.Accepted} batches answered 200, {politeCounts.Refused} refused; latency p50 {politeCounts.Percentile(0.5):0.0} ms, p99 {politeCounts.Percentile(0.99):0.0} ms");
        Console.WriteLine($"  flood:  accepted {floodAccepted * FloodLines / elapsed:0} points/s ({floodAccepted} batches), {floodRefused} refused");
        Console.WriteLine($"  sink:   {sinkRate / 1e6:0.00} MB/s read");
        gateway.Kill();
        consul.Kill();
        return 0;
    }

    private static byte[] Gzip(string text)
    {
        var output = new MemoryStream();
        using (var gzip = new System.IO.Compression.GZipStream(output, System.IO.Compression.CompressionLevel.Optimal, leaveOpen: true))
            gzip.Write(Encoding.ASCII.GetBytes(text));
        return output.ToArray();
    }

    private static async Task PostAsync(HttpClient client, Uri url, string key, byte[] body, Counts counts, CancellationToken cancel)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body), Headers = { { "X-Polymur-Key", key } } };
        var t = Stopwatch.StartNew();
        try
        {
            using var response = await client.SendAsync(request, cancel);
            counts.Add((int)response.StatusCode == 200, t.Elapsed.TotalMilliseconds);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
        }
        catch (HttpRequestException)
        {
            counts.Add(false, t.Elapsed.TotalMilliseconds);
        }
    }

    private sealed class Counts
    {
        private readonly List<double> _latencies = [];
        private long _accepted, _refused;

        public long Accepted => Interlocked.Read(ref _accepted);

        public long Refused => Interlocked.Read(ref _refused);

        public void Add(bool accepted, double ms)
        {
            if (accepted)
                Interlocked.Increment(ref _accepted);
            else
                Interlocked.Increment(ref _refused);
            lock (_latencies)
                _latencies.Add(ms);
        }

        public void Reset()
        {
            Interlocked.Exchange(ref _accepted, 0);
            Interlocked.Exchange(ref _refused, 0);
            lock (_latencies)
                _latencies.Clear();
        }

        public double Percentile(double q)
        {
            lock (_latencies)
            {
                if (_latencies.Count == 0)
                    return 0;
                var sorted = _latencies.Order().ToList();
                return sorted[Math.Min(sorted.Count - 1, (int)(q * sorted.Count))];
            }
        }
    }

    /// <summary>A destination that reads at most a tenth of its rate every 100 ms, through a 64 KiB window.</summary>
    private sealed class SlowSink : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly int _bytesPerSecond;
        private long _bytes;

        public SlowSink(int bytesPerSecond)
        {
            _bytesPerSecond = bytesPerSecond;
            _listener.Server.ReceiveBufferSize = 64 << 10;
            _listener.Start();
            new Thread(Accept) { IsBackground = true }.Start();
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public long Bytes => Interlocked.Read(ref _bytes);

        private void Accept()
        {
            try
            {
                while (true)
                {
                    var socket = _listener.AcceptSocket();
                    new Thread(() => Read(socket)) { IsBackground = true }.Start();
                }
            }
            catch (Exception)
            {
            }
        }

        private void Read(Socket socket)
        {
            var buffer = new byte[64 << 10];
            int perTick = Math.Max(_bytesPerSecond / 10, 1);
            var clock = Stopwatch.StartNew();
            long tick = 0;
            try
            {
                while (true)
                {
                    for (int left = perTick; left > 0;)
                    {
                        int n = socket.Receive(buffer, 0, Math.Min(left, buffer.Length), SocketFlags.None);
                        if (n == 0)
                            return;
                        left -= n;
                        Interlocked.Add(ref _bytes, n);
                    }
                    // Never faster than the rate: after a wait for data, the next tick starts from now.
                    tick = Math.Max(tick + 1, (long)(clock.Elapsed.TotalMilliseconds / 100));
                    var wait = TimeSpan.FromMilliseconds(tick * 100) - clock.Elapsed;
                    if (wait > TimeSpan.Zero)
                        Thread.Sleep(wait);
                }
            }
            catch (Exception)
            {
            }
            finally
            {
                socket.Dispose();
            }
        }

        public void Dispose() => _listener.Stop();
    }
}
