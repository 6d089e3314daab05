using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Polymur.Gateway.Tests.Support;

/// <summary>
/// Listens on a port where a service has died, reads the first line of each request and resets the connection:
/// a test can then wait until the gateway has really tried again (and at what), rather than sleep and hope it did.
/// </summary>
public sealed class ResettingListener : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly Task _accepting;
    private readonly ConcurrentQueue<string> _requests = new();

    public ResettingListener(int port)
    {
        _listener = new TcpListener(IPAddress.Loopback, port);
        _listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _listener.Start();
        _accepting = AcceptAsync();
    }

    /// <summary>How many requests' first lines contain <paramref name="text"/> (e.g. a path).</summary>
    public int Requests(string text) => _requests.Count(r => r.Contains(text, StringComparison.Ordinal));

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var socket = await _listener.AcceptSocketAsync();
                _ = ResetAsync(socket);
            }
        }
        catch (Exception)
        {
            // Stopped.
        }
    }

    private async Task ResetAsync(Socket socket)
    {
        using (socket)
        {
            var buffer = new byte[4096];
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                int n = await socket.ReceiveAsync(buffer, SocketFlags.None, wait.Token);
                string text = Encoding.ASCII.GetString(buffer, 0, n);
                _requests.Enqueue(text.Split('\n')[0]);
            }
            catch (Exception)
            {
                _requests.Enqueue(""); // connected, sent nothing in time
            }
            socket.LingerState = new LingerOption(true, 0); // close with RST
        }
    }

    /// <summary>Frees the port, for the service to start there again.</summary>
    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        await _accepting;
    }
}
