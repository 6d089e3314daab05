using System.Net;
using System.Net.Sockets;

namespace Polymur.Gateway.Tests.Support;

/// <summary>A destination that accepts connections and reads nothing until told to: its socket buffers fill.</summary>
public sealed class StalledSink : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly List<Socket> _accepted = [];
    private readonly Task _accepting;
    private readonly TaskCompletionSource _resume = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _lines;

    public StalledSink()
    {
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync();
    }

    public int Port { get; }

    public long Lines => Interlocked.Read(ref _lines);

    /// <summary>Starts reading (and counting lines) on every connection.</summary>
    public void Resume() => _resume.TrySetResult();

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var socket = await _listener.AcceptSocketAsync();
                socket.ReceiveBufferSize = 64 * 1024;
                lock (_accepted)
                    _accepted.Add(socket);
                _ = ReadLaterAsync(socket);
            }
        }
        catch (Exception)
        {
        }
    }

    private async Task ReadLaterAsync(Socket socket)
    {
        await _resume.Task;
        var buffer = new byte[1 << 16];
        try
        {
            int n;
            while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None)) > 0)
                Interlocked.Add(ref _lines, buffer.AsSpan(0, n).Count((byte)'\n'));
        }
        catch (Exception)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        lock (_accepted)
        {
            foreach (var s in _accepted)
                s.Dispose();
        }
        await _accepting;
    }
}
