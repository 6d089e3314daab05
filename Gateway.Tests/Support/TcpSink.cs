using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Polymur.Gateway.Tests.Support;

/// <summary>A Graphite stand-in: a real TCP listener on 127.0.0.1 that records every line it receives.</summary>
public sealed class TcpSink : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly List<string> _lines = [];
    private readonly List<TcpClient> _clients = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private readonly int _bytesPerSecond;
    private int _connections;
    private int _resets;
    private int _ended;

    private TcpSink(int port, int bytesPerSecond)
    {
        _bytesPerSecond = bytesPerSecond;
        _listener = new TcpListener(IPAddress.Loopback, port);
        _listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        if (bytesPerSecond > 0)
            _listener.Server.ReceiveBufferSize = 64 * 1024; // a slow reader's window stays small
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync();
    }

    public int Port { get; }

    public string Address => $"127.0.0.1:{Port}";

    /// <summary>How many connections it has accepted in all.</summary>
    public int Connections => Volatile.Read(ref _connections);

    /// <summary>How many connections ended in a reset rather than a close: a reset discards unread data.</summary>
    public int Resets => Volatile.Read(ref _resets);

    /// <param name="bytesPerSecond">0 reads as fast as lines arrive; otherwise a slow destination that reads at this rate.</param>
    public static TcpSink Start(int port = 0, int bytesPerSecond = 0) => new(port, bytesPerSecond);

    /// <summary>Waits until every connection it accepted has been closed by the peer (or reset).</summary>
    public async Task<bool> WaitForAllClosedAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (Volatile.Read(ref _ended) == Connections)
                return true;
            await Task.Delay(50);
        }
        return false;
    }

    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lines)
                return [.. _lines];
        }
    }

    public int Count
    {
        get
        {
            lock (_lines)
                return _lines.Count;
        }
    }

    /// <summary>Waits until at least <paramref name="count"/> lines arrived; returns whether they did in time.</summary>
    public async Task<bool> WaitForAsync(int count, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (Count < count)
        {
            if (DateTime.UtcNow > deadline)
                return false;
            await Task.Delay(10);
        }
        return true;
    }

    /// <summary>
    /// Waits until no line has arrived for <paramref name="quiet"/> and no connection has unread bytes in the
    /// kernel, then returns the lines. Only for "nothing more came": wait for what must come first
    /// (<see cref="WaitForAsync"/>), since a quiet spell proves nothing about a sender that is slow to start.
    /// </summary>
    public async Task<IReadOnlyList<string>> SettleAsync(TimeSpan? quiet = null)
    {
        var q = quiet ?? TimeSpan.FromMilliseconds(300);
        int last = -1;
        while (Count != last || UnreadBytes())
        {
            last = Count;
            await Task.Delay(q);
        }
        return Lines;
    }

    /// <summary>
    /// Waits for <paramref name="count"/> lines, then until every connection has ended: for a sender that has
    /// closed or exited, after which no line can still arrive. Returns the lines, or null on timeout.
    /// </summary>
    public async Task<IReadOnlyList<string>?> WaitForEndAsync(int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        if (!await WaitForAsync(count, timeout) || !await WaitForAllClosedAsync(deadline - DateTime.UtcNow))
            return null;
        return Lines;
    }

    // Bytes the kernel has received that the reader has not taken yet: a reader starved of CPU is not quiet.
    private bool UnreadBytes()
    {
        lock (_clients)
        {
            foreach (var c in _clients)
            {
                try
                {
                    if (c.Client is { } socket && socket.Available > 0)
                        return true;
                }
                catch (Exception)
                {
                    // Closed meanwhile: nothing left to read there.
                }
            }
        }
        return false;
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                Interlocked.Increment(ref _connections);
                lock (_clients)
                    _clients.Add(client);
                _ = ReadAsync(client);
            }
        }
        catch (Exception) when (_stop.IsCancellationRequested)
        {
        }
    }

    private async Task ReadAsync(TcpClient client)
    {
        var buffer = new byte[_bytesPerSecond > 0 ? Math.Max(_bytesPerSecond / 10, 1) : 64 * 1024];
        var partial = new MemoryStream();
        var stream = client.GetStream();
        try
        {
            int n;
            while ((n = await stream.ReadAsync(buffer, _stop.Token)) > 0)
            {
                if (_bytesPerSecond > 0)
                    await Task.Delay(100, _stop.Token);
                int start = 0;
                for (int i = 0; i < n; i++)
                {
                    if (buffer[i] != '\n')
                        continue;
                    partial.Write(buffer, start, i - start);
                    string line = Encoding.UTF8.GetString(partial.GetBuffer(), 0, (int)partial.Length);
                    partial.SetLength(0);
                    lock (_lines)
                        _lines.Add(line);
                    start = i + 1;
                }
                partial.Write(buffer, start, n - start);
            }
        }
        catch (IOException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionReset })
        {
            Interlocked.Increment(ref _resets); // a half line is discarded, as carbon does
        }
        catch (Exception)
        {
            // The sink stopped.
        }
        client.Dispose(); // at EOF, close our side too, as carbon does
        Interlocked.Increment(ref _ended);
    }

    /// <summary>Closes the listener and every connection, as a crashed or restarted carbon would.</summary>
    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        lock (_clients)
        {
            foreach (var c in _clients)
                c.Dispose();
        }
        await _accepting;
    }
}
