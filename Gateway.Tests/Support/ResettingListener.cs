using System.Net;
using System.Net.Sockets;

namespace Polymur.Gateway.Tests.Support;

/// <summary>
/// Listens on a port where a service has died and resets every connection at once, counting them: a test can
/// then wait until the gateway has really tried again, rather than sleep and hope it did.
/// </summary>
public sealed class ResettingListener : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly Task _accepting;
    private int _connections;

    public ResettingListener(int port)
    {
        _listener = new TcpListener(IPAddress.Loopback, port);
        _listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _listener.Start();
        _accepting = AcceptAsync();
    }

    /// <summary>Connections accepted (and reset) so far.</summary>
    public int Connections => Volatile.Read(ref _connections);

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                using var socket = await _listener.AcceptSocketAsync();
                socket.LingerState = new LingerOption(true, 0); // close with RST
                Interlocked.Increment(ref _connections);
            }
        }
        catch (Exception)
        {
            // Stopped.
        }
    }

    /// <summary>Frees the port, for the service to start there again.</summary>
    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        await _accepting;
    }
}
