using System.Net;
using System.Net.Sockets;

namespace Polymur.Gateway.Tests.Support;

/// <summary>
/// A Graphite stand-in for load tests: counts the lines it receives, and how often it got each distinct line
/// (by a 64-bit FNV-1a of its bytes), without keeping any.
/// </summary>
public sealed class CountingSink : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly List<Socket> _clients = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private readonly Dictionary<ulong, long> _tally = [];
    private readonly int _bytesPerSecond;
    private long _lines;

    private CountingSink(int port, int receiveBuffer, int bytesPerSecond)
    {
        _bytesPerSecond = bytesPerSecond;
        _listener = new TcpListener(IPAddress.Loopback, port);
        _listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        if (receiveBuffer > 0)
            _listener.Server.ReceiveBufferSize = receiveBuffer; // inherited by accepted sockets: bounds what a close discards
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync();
    }

    public int Port { get; }

    public long Lines => Interlocked.Read(ref _lines);

    /// <param name="receiveBuffer">SO_RCVBUF for its connections (0: the kernel's autotuning), which bounds what it discards unread when disposed.</param>
    /// <param name="bytesPerSecond">0 reads as fast as lines arrive; otherwise a slow destination that reads at most this much a second.</param>
    public static CountingSink Start(int port = 0, int receiveBuffer = 0, int bytesPerSecond = 0) => new(port, receiveBuffer, bytesPerSecond);

    /// <summary>How many times each distinct line arrived, by <see cref="Hash"/>.</summary>
    public Dictionary<ulong, long> Tally()
    {
        lock (_tally)
            return new Dictionary<ulong, long>(_tally);
    }

    public static ulong Hash(ReadOnlySpan<byte> line)
    {
        ulong hash = 14695981039346656037;
        foreach (byte b in line)
            hash = (hash ^ b) * 1099511628211;
        return hash;
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var socket = await _listener.AcceptSocketAsync(_stop.Token);
                lock (_clients)
                    _clients.Add(socket);
                _ = Task.Run(() => Read(socket));
            }
        }
        catch (Exception) when (_stop.IsCancellationRequested)
        {
        }
    }

    private async Task Read(Socket socket)
    {
        // A slow one reads a tenth of its rate, then pauses 100 ms.
        var buffer = new byte[_bytesPerSecond > 0 ? Math.Max(_bytesPerSecond / 10, 1) : 256 * 1024];
        var partial = new List<byte>();
        try
        {
            int n;
            while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token)) > 0)
            {
                Count(buffer.AsSpan(0, n), partial);
                if (_bytesPerSecond > 0)
                    await Task.Delay(100, _stop.Token);
            }
        }
        catch (Exception)
        {
        }
        socket.Dispose();
    }

    private void Count(ReadOnlySpan<byte> data, List<byte> partial)
    {
        long lines = 0;
        lock (_tally)
        {
            while (true)
            {
                int lf = data.IndexOf((byte)'\n');
                if (lf < 0)
                    break;
                ulong hash;
                if (partial.Count > 0)
                {
                    partial.AddRange(data[..lf]);
                    hash = Hash(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(partial));
                    partial.Clear();
                }
                else
                {
                    hash = Hash(data[..lf]);
                }
                _tally[hash] = _tally.GetValueOrDefault(hash) + 1;
                lines++;
                data = data[(lf + 1)..];
            }
        }
        partial.AddRange(data);
        Interlocked.Add(ref _lines, lines);
    }

    /// <summary>Closes the listener and every connection, as a stopped carbon would.</summary>
    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        lock (_clients)
            _clients.ForEach(c => c.Dispose());
        try
        {
            await _accepting;
        }
        catch (Exception)
        {
        }
    }
}
