using System.Diagnostics;
using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using static BenchParts;

/// <summary>
/// The outage scenario of issue 22, against the published binary: hash-route to two sinks with -spool-dir at a
/// fixed rate, one sink stopped (its connections closed, what it had not read discarded, as a dying carbon) for a
/// while, then back. Every batch is distinct, and the sinks count each line, so the loss and the duplicates are
/// both measured line by line: "lost" lines answered 200 that never arrived, "duplicates" extra copies.
/// </summary>
internal static class OutageBench
{
    private const int LinesPerBatch = 5000, Senders = 4;

    public static async Task<int> RunAsync(string binary, double downSeconds, long linesPerSecond, string spoolDir)
    {
        int httpPort = FreePort(), statPort = FreePort();
        var steady = new TallySink(FreePort());
        var flappy = new TallySink(FreePort());
        steady.Start();
        flappy.Start();
        var gateway = Process.Start(new ProcessStartInfo("taskset", ["-c", "0", binary, "-dev-mode",
            "-listen-addr", "127.0.0.1", "-listen-http-port", httpPort.ToString(), "-api-addr", "127.0.0.1:0",
            "-stat-addr", $"127.0.0.1:{statPort}", "-destinations", $"127.0.0.1:{steady.Port}:a,127.0.0.1:{flappy.Port}:b",
            "-distribution", "hash-route", "-spool-dir", spoolDir, "-spool-replay-rate", "1000000", "-summary-interval", "0"])
        { RedirectStandardError = true })!;
        var gatewayLog = gateway.StandardError.ReadToEndAsync();
        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}/") };
        var stats = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{statPort}/") };
        await WaitAsync(async () => (await stats.GetAsync("readyz")).IsSuccessStatusCode);

        var answers = new System.Collections.Concurrent.ConcurrentDictionary<int, int>(); // batch -> status
        int next = -1;
        using var stop = new CancellationTokenSource();
        double batchesPerSecond = linesPerSecond / (double)LinesPerBatch;
        var clock = Stopwatch.StartNew();
        var senders = Enumerable.Range(0, Senders).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                int n = Interlocked.Increment(ref next);
                var due = TimeSpan.FromSeconds(n / batchesPerSecond) - clock.Elapsed;
                if (due > TimeSpan.Zero)
                    await Task.Delay(due);
                using var request = new HttpRequestMessage(HttpMethod.Post, "ingest") { Content = new ByteArrayContent(Body(n)) };
                request.Headers.TryAddWithoutValidation("X-Polymur-Key", "123");
                try
                {
                    using var response = await http.SendAsync(request);
                    answers[n] = (int)response.StatusCode;
                }
                catch (HttpRequestException)
                {
                    answers[n] = 0;
                }
            }
        })).ToArray();

        await Task.Delay(TimeSpan.FromSeconds(5));
        flappy.Stop();
        await Task.Delay(TimeSpan.FromSeconds(downSeconds));
        flappy.Start();
        await Task.Delay(TimeSpan.FromSeconds(5));
        stop.Cancel();
        await Task.WhenAll(senders);
        double seconds = clock.Elapsed.TotalSeconds;
        await WaitAsync(async () =>
        {
            using var s = JsonDocument.Parse(await stats.GetStringAsync("stats"));
            return s.RootElement.GetProperty("destinations").EnumerateArray().All(d => d.GetProperty("queued").GetInt64() == 0 && d.GetProperty("spool_pending").GetInt64() == 0);
        }, TimeSpan.FromSeconds(300));
        long resent;
        using (var s = JsonDocument.Parse(await stats.GetStringAsync("stats")))
            resent = s.RootElement.GetProperty("destinations").EnumerateArray().Sum(d => d.GetProperty("resent").GetInt64());
        // Lines still in flight from the gateway's kernel to the sinks.
        long last = -1;
        while (steady.Lines + flappy.Lines != last)
        {
            last = steady.Lines + flappy.Lines;
            await Task.Delay(500);
        }
        gateway.Kill();
        await gateway.WaitForExitAsync();
        await gatewayLog;

        long accepted = 0, lost = 0, duplicates = 0;
        foreach (var (batch, status) in answers)
        {
            if (status != 200)
                continue;
            accepted += LinesPerBatch;
            for (int j = 0; j < LinesPerBatch; j++)
            {
                int got = steady.Count(batch, j) + flappy.Count(batch, j);
                if (got == 0)
                    lost++;
                else
                    duplicates += got - 1;
            }
        }
        Console.WriteLine($"accepted lines:          {accepted} at {accepted / seconds:0} lines/s, {answers.Count(a => a.Value != 200)} batches not answered 200");
        Console.WriteLine($"lost:                    {lost}");
        Console.WriteLine($"duplicates:              {duplicates} ({100.0 * duplicates / Math.Max(1, accepted):0.000}% of accepted); {resent} lines sent again after the connection loss");
        return 0;
    }

    // Batch n: "outage.b<n>.m<j> 1 1700000000" for each line j, gzip level 1.
    private static byte[] Body(int n)
    {
        var text = new StringBuilder(LinesPerBatch * 32);
        for (int j = 0; j < LinesPerBatch; j++)
            text.Append("outage.b").Append(n).Append(".m").Append(j).Append(" 1 1700000000\n");
        var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
            gzip.Write(Encoding.ASCII.GetBytes(text.ToString()));
        return output.ToArray();
    }

    /// <summary>A sink that counts how often each (batch, line) arrived; stopping it closes its connections unread.</summary>
    private sealed class TallySink(int port)
    {
        private readonly Dictionary<long, int> _seen = [];
        private readonly List<Socket> _sockets = [];
        private TcpListener? _listener;
        private long _lines;

        public int Port => port;

        public long Lines => Interlocked.Read(ref _lines);

        public int Count(int batch, int line)
        {
            lock (_seen)
                return _seen.GetValueOrDefault((long)batch * LinesPerBatch + line);
        }

        public void Start()
        {
            var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Start();
            _listener = listener;
            new Thread(() =>
            {
                try
                {
                    while (true)
                    {
                        var socket = listener.AcceptSocket();
                        lock (_sockets)
                            _sockets.Add(socket);
                        new Thread(() => Read(socket)) { IsBackground = true }.Start();
                    }
                }
                catch (Exception) { }
            }) { IsBackground = true }.Start();
        }

        private void Read(Socket socket)
        {
            var buffer = new byte[1 << 20];
            var partial = new List<byte>();
            try
            {
                int n;
                while ((n = socket.Receive(buffer)) > 0)
                {
                    var data = buffer.AsSpan(0, n);
                    int lf;
                    while ((lf = data.IndexOf((byte)'\n')) >= 0)
                    {
                        partial.AddRange(data[..lf]);
                        Tally(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(partial));
                        partial.Clear();
                        data = data[(lf + 1)..];
                    }
                    partial.AddRange(data);
                }
            }
            catch (Exception) { }
            socket.Dispose();
        }

        // "outage.b<n>.m<j> ..." -> n * LinesPerBatch + j.
        private void Tally(ReadOnlySpan<byte> line)
        {
            Interlocked.Increment(ref _lines);
            var name = line[..line.IndexOf((byte)' ')];
            int m = name.LastIndexOf(".m"u8);
            if (!int.TryParse(name[8..m], out int batch) || !int.TryParse(name[(m + 2)..], out int j))
                return;
            lock (_seen)
            {
                long key = (long)batch * LinesPerBatch + j;
                _seen[key] = _seen.GetValueOrDefault(key) + 1;
            }
        }

        public void Stop()
        {
            _listener?.Stop();
            _listener = null;
            lock (_sockets)
            {
                foreach (var s in _sockets)
                    s.Dispose();
                _sockets.Clear();
            }
        }
    }
}
