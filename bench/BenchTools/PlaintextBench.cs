// The plaintext listener's bench helpers: a TLS sink for tls:// destinations, and a sender of plain lines.
using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;

internal static class PlaintextBench
{
    /// <summary>Wraps an accepted socket in a server-side TLS stream with the PEM pair, handshaken.</summary>
    public static Func<Socket, Stream> TlsServer(string certPath, string keyPath)
    {
        var certificate = X509Certificate2.CreateFromPemFile(certPath, keyPath);
        return socket =>
        {
            var tls = new SslStream(new NetworkStream(socket, ownsSocket: true));
            tls.AuthenticateAsServer(certificate);
            return tls;
        };
    }

    /// <summary>
    /// CONNECTIONS connections each write the same 5000 lines (makebatch's, uncompressed) again and again for
    /// SECONDS, then close. Prints the lines written and, per half second, how many went out then: a stalled
    /// gateway shows as zeros.
    /// </summary>
    public static async Task<int> SendAsync(int port, int connections, double seconds)
    {
        var text = new StringBuilder();
        var random = new Random(58);
        for (int i = 0; i < 5000; i++)
            text.Append($"prod.web{i % 97:00}.app.http.requests.p{i:0000}.rate {random.Next(100000) / 100.0:0.00} 1700000000\n");
        byte[] chunk = Encoding.ASCII.GetBytes(text.ToString());
        long chunks = 0;
        var clock = Stopwatch.StartNew();
        var timeline = new List<long>();
        var ticker = Task.Run(async () =>
        {
            long last = 0;
            while (clock.Elapsed.TotalSeconds < seconds)
            {
                await Task.Delay(500);
                long now = Interlocked.Read(ref chunks);
                timeline.Add((now - last) * 5000);
                last = now;
            }
        });
        await Task.WhenAll(Enumerable.Range(0, connections).Select(_ => Task.Run(() =>
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Connect(IPAddress.Loopback, port);
            while (clock.Elapsed.TotalSeconds < seconds)
            {
                socket.Send(chunk);
                Interlocked.Increment(ref chunks);
            }
            socket.Shutdown(SocketShutdown.Send);
            while (socket.Receive(new byte[16]) > 0)
            {
            }
        })));
        await ticker;
        Console.WriteLine($"sent_lines={chunks * 5000}");
        Console.WriteLine($"timeline={string.Join(' ', timeline)}");
        return 0;
    }
}
