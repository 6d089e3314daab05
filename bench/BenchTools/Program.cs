// Helpers for `make bench`: the batch a proxy would send, a line-counting sink, and zlib's own cost.
using System.Diagnostics;
using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Text;

return args.FirstOrDefault() switch
{
    "makebatch" => MakeBatch(args[1], int.Parse(args[2])),
    "makeempty" => MakeEmpty(args[1]),
    "idle" => await IdleAsync(int.Parse(args[1]), int.Parse(args[2])),
    "sink" => await SinkAsync(args[1], args.Skip(2).Select(int.Parse).ToArray()),
    "tls-sink" => await SinkAsync(args[3], args.Skip(4).Select(int.Parse).ToArray(), PlaintextBench.TlsServer(args[1], args[2])),
    "tcpsend" => await PlaintextBench.SendAsync(int.Parse(args[1]), int.Parse(args[2]), double.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture)),
    "inflate" => Inflate(args[1], int.Parse(args[2])),
    "inflate-libdeflate" => LibdeflateFloor.Inflate(args[1], int.Parse(args[2])),
    "soak" => await Soak.RunAsync(args[1], args[2], double.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture), long.Parse(args[4]), args.Length > 5 ? args[5] : null),
    "outage" => await OutageBench.RunAsync(args[1], double.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture), long.Parse(args[3]), args[4]),
    "tenants-scale" => await TenantBench.ScaleAsync(args[1], args[2], int.Parse(args[3])),
    "fair-queue" => await QueueFairnessBench.RunAsync(args[1], args[2], double.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture), int.Parse(args[4]), args[5..]),
    "fairness" => await TenantBench.FairnessAsync(args[1], args[2], double.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture), args[4..]),
    "quota-flood" => await QuotaBench.RunAsync(args[1], args[2], double.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture)),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("BenchTools makebatch FILE LINES | makeempty FILE | idle PORT CONNECTIONS | sink COUNTFILE PORT... | tls-sink CERT KEY COUNTFILE PORT... | tcpsend PORT CONNECTIONS SECONDS | inflate FILE SECONDS | inflate-libdeflate FILE SECONDS | soak BINARY CONSUL MINUTES POINTS_PER_S [SPOOL_DIR] | outage BINARY DOWN_SECONDS LINES_PER_S SPOOL_DIR | tenants-scale BINARY CONSUL N | fairness BINARY CONSUL SECONDS [GATEWAY FLAGS...] | quota-flood BINARY CONSUL SECONDS | fair-queue BINARY CONSUL SECONDS SINK_BYTES_PER_S [GATEWAY FLAGS...]");
    return 2;
}

// LINES Graphite lines of about 58 bytes, gzip level 6, as a polymur-proxy sends them.
static int MakeBatch(string path, int lines)
{
    var text = new StringBuilder();
    var random = new Random(58);
    for (int i = 0; i < lines; i++)
        text.Append($"prod.web{i % 97:00}.app.http.requests.p{i:0000}.rate {random.Next(100000) / 100.0:0.00} 1700000000\n");
    var raw = Encoding.ASCII.GetBytes(text.ToString());
    using var file = File.Create(path);
    using (var gzip = new GZipStream(file, new ZLibCompressionOptions { CompressionLevel = 6 }))
        gzip.Write(raw);
    Console.WriteLine($"{lines} lines, {raw.Length} bytes ({raw.Length / (double)lines:0.0} per line), {new FileInfo(path).Length} bytes gzipped");
    return 0;
}

// The empty member Go's gzip writer flushes when a proxy has nothing to send (a sync flush, then the trailer).
static int MakeEmpty(string path)
{
    File.WriteAllBytes(path, [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0]);
    return 0;
}

// Opens CONNECTIONS keep-alive connections, sends one /ping on each (so the gateway's first-request timeout
// does not close them), prints "ready", and holds them open, unread from, until killed.
static async Task<int> IdleAsync(int port, int connections)
{
    var request = Encoding.ASCII.GetBytes("POST /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Polymur-Key: 123\r\nContent-Length: 0\r\n\r\n");
    var sockets = new List<Socket>(connections);
    var buffer = new byte[4096];
    for (int i = 0; i < connections; i++)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, port);
        await socket.SendAsync(request);
        int n = await socket.ReceiveAsync(buffer);
        if (n == 0 || !Encoding.ASCII.GetString(buffer, 0, n).StartsWith("HTTP/1.1 200"))
            throw new IOException($"connection {i}: no 200 for /ping");
        sockets.Add(socket);
    }
    Console.WriteLine($"ready {sockets.Count}");
    await Task.Delay(Timeout.Infinite);
    return 0;
}

// Counts LF bytes on every port; writes the running total to COUNTFILE every 50 ms. A dedicated thread per
// listener and per connection: blocking reads on pool threads starve when the sink is pinned to one CPU
// (the pool starts with one thread there), which showed up as 0.5-1 s stalls in the gateway's latency.
// With WRAP (tls-sink), each connection is read through the stream it returns.
static async Task<int> SinkAsync(string countFile, int[] ports, Func<Socket, Stream>? wrap = null)
{
    long total = 0;
    foreach (var port in ports)
    {
        var listener = new TcpListener(IPAddress.Loopback, port);
        listener.Start();
        new Thread(() =>
        {
            while (true)
            {
                var socket = listener.AcceptSocket();
                new Thread(() =>
                {
                    var buffer = new byte[1 << 20];
                    int n;
                    try
                    {
                        using var stream = wrap is null ? new NetworkStream(socket, ownsSocket: true) : wrap(socket);
                        while ((n = stream.Read(buffer)) > 0)
                            Interlocked.Add(ref total, buffer.AsSpan(0, n).Count((byte)'\n'));
                    }
                    catch (IOException)
                    {
                    }
                    socket.Dispose();
                }) { IsBackground = true }.Start();
            }
        }) { IsBackground = true }.Start();
    }
    Console.WriteLine("ready");
    while (true)
    {
        await File.WriteAllTextAsync(countFile + ".tmp", Interlocked.Read(ref total).ToString());
        File.Move(countFile + ".tmp", countFile, overwrite: true);
        await Task.Delay(50);
    }
}

// CPU ns per metric for .NET's GZipStream inflating the same batch, on this thread alone.
static int Inflate(string path, int seconds)
{
    var gz = File.ReadAllBytes(path);
    var output = new byte[8 << 20];
    int lines = 0;
    var process = Process.GetCurrentProcess();
    long batches = 0;
    var start = process.TotalProcessorTime;
    var wall = Stopwatch.StartNew();
    while (wall.Elapsed.TotalSeconds < seconds)
    {
        using var gzip = new GZipStream(new MemoryStream(gz), CompressionMode.Decompress);
        int total = 0, n;
        while ((n = gzip.Read(output, total, output.Length - total)) > 0)
            total += n;
        lines = output.AsSpan(0, total).Count((byte)'\n');
        batches++;
    }
    process.Refresh();
    double cpuNs = (process.TotalProcessorTime - start).TotalMilliseconds * 1e6;
    Console.WriteLine($"inflate_ns_per_metric={cpuNs / (batches * lines):0.0}");
    return 0;
}
