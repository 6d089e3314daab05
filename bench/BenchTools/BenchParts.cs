using System.Diagnostics;
using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Text;

/// <summary>What the Consul-backed bench runs share: a dev agent, free ports, waiting, and a line-counting sink.</summary>
internal static class BenchParts
{
    /// <summary>LINES Graphite lines under PREFIX, gzip level 6, as a proxy sends them.</summary>
    public static byte[] Batch(string prefix, int lines)
    {
        var text = new StringBuilder();
        for (int i = 0; i < lines; i++)
            text.Append($"{prefix}.web{i % 97:00}.app.http.requests.p{i:0000}.rate {i % 1000}.5 1700000000\n");
        var output = new MemoryStream();
        using (var gzip = new GZipStream(output, new ZLibCompressionOptions { CompressionLevel = 6 }, leaveOpen: true))
            gzip.Write(Encoding.ASCII.GetBytes(text.ToString()));
        return output.ToArray();
    }

    public static string NewKey() => Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));


    public static Process StartConsul(string binary, int httpPort) =>
        Process.Start(new ProcessStartInfo(binary, ["agent", "-dev", "-bind=127.0.0.1", "-client=127.0.0.1", "-log-level=warn",
            $"-http-port={httpPort}", $"-serf-lan-port={FreePort()}", $"-serf-wan-port={FreePort()}", $"-server-port={FreePort()}", "-dns-port=-1", "-grpc-port=-1"])
        { RedirectStandardOutput = true })!;

    public static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    public static async Task WaitAsync(Func<Task<bool>> condition, TimeSpan? limit = null)
    {
        var deadline = DateTime.UtcNow + (limit ?? TimeSpan.FromSeconds(30));
        while (DateTime.UtcNow < deadline)
        {
            try { if (await condition()) return; } catch (Exception) { }
            await Task.Delay(100);
        }
        throw new TimeoutException("condition not met");
    }

    /// <summary>A TCP sink that counts lines and can be stopped and started on the same port.</summary>
    public sealed class CountingSink(int port)
    {
        private TcpListener? _listener;
        private readonly List<Socket> _sockets = [];
        private long _lines;

        public int Port => port;

        public long Lines => Interlocked.Read(ref _lines);

        public bool Running => _listener is not null;

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
                        lock (_sockets) _sockets.Add(socket);
                        new Thread(() =>
                        {
                            var buffer = new byte[1 << 20];
                            try
                            {
                                int n;
                                while ((n = socket.Receive(buffer)) > 0)
                                    Interlocked.Add(ref _lines, buffer.AsSpan(0, n).Count((byte)'\n'));
                            }
                            catch (Exception) { }
                            socket.Dispose();
                        }) { IsBackground = true }.Start();
                    }
                }
                catch (Exception) { }
            }) { IsBackground = true }.Start();
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
