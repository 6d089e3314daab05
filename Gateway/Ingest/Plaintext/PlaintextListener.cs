using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Polymur.Gateway.Primitives;

namespace Polymur.Gateway.Ingest.Plaintext;

/// <summary>
/// -listen-tcp-port: Graphite's plaintext line protocol for trusted senders (collectd, a carbon relay, scripts),
/// every line attributed to -tcp-tenant. At -tcp-max-connections a new connection evicts the one that has waited
/// longest for bytes, as the HTTP listeners do (ConnectionLimit), so idle sockets cannot lock senders out; only when
/// none is waiting (each is queueing lines) is the newcomer closed at once.
/// </summary>
internal sealed partial class PlaintextListener(PlaintextIntake intake, PlaintextOptions options, BufferPool buffers, ILogger<PlaintextListener> log) : IAsyncDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _abort = new();
    private readonly ConcurrentDictionary<PlaintextConnection, Task> _connections = new();
    private readonly LogLimiter _refusedLog = new(TimeSpan.FromSeconds(10));
    private readonly LogLimiter _evictedLog = new(TimeSpan.FromSeconds(10));
    private Socket? _socket;
    private Task _accepting = Task.CompletedTask;

    public PlaintextCounters Counters => intake.Counters;

    /// <summary>Connections not reading now because the gateway could not yet take their lines (see <see cref="PlaintextIntake.StallThreshold"/>).</summary>
    public int Stalled() => _connections.Keys.Count(c => c.IsStalled(PlaintextIntake.StallThreshold));

    /// <summary>The bound address, with the real port when 0 was asked for.</summary>
    public IPEndPoint Endpoint => Bound ?? throw new InvalidOperationException("the plaintext listener has not started");

    /// <summary>The bound address once started (kept after the stop), else null.</summary>
    public IPEndPoint? Bound { get; private set; }

    public void Start()
    {
        var socket = new Socket(options.Address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        if (options.Address.Equals(IPAddress.IPv6Any))
            socket.DualMode = true;
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        socket.Bind(new IPEndPoint(options.Address, options.Port));
        socket.Listen(512);
        _socket = socket;
        Bound = (IPEndPoint)socket.LocalEndPoint!;
        _accepting = AcceptAsync(socket);
    }

    private async Task AcceptAsync(Socket listening)
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket accepted;
            try
            {
                accepted = await listening.AcceptAsync(_stopping.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e)
            {
                // Out of file descriptors, for one: wait a little rather than spin.
                if (_refusedLog.TryEnter(out long suppressed))
                    LogAcceptFailed(e.SocketErrorCode.ToString(), suppressed);
                await Task.Delay(100);
                continue;
            }
            if (Counters.Open >= options.MaxConnections && !MakeRoom())
            {
                Counters.AddRefused();
                if (_refusedLog.TryEnter(out long suppressed))
                    LogRefused((accepted.RemoteEndPoint as IPEndPoint)?.Address.ToString() ?? "?", options.MaxConnections, suppressed);
                accepted.Dispose();
                continue;
            }
            Counters.Opened();
            var connection = new PlaintextConnection(accepted, intake, options, buffers);
            _connections[connection] = RunAsync(connection);
        }
    }

    // At the cap: evicts the connection idle the longest, unless evicted ones still closing already make room.
    // O(open connections), only at the cap.
    private bool MakeRoom()
    {
        if (_connections.Keys.Count(c => !c.Evicted) < options.MaxConnections)
            return true;
        while (true)
        {
            PlaintextConnection? idlest = null;
            foreach (var connection in _connections.Keys)
            {
                if (connection.IsIdle && (idlest is null || connection.LastRead < idlest.LastRead))
                    idlest = connection;
            }
            if (idlest is null)
                return false;
            if (idlest.TryEvict())
            {
                Counters.AddEvicted();
                if (_evictedLog.TryEnter(out long suppressed))
                    LogEvicted(idlest.Peer, System.Diagnostics.Stopwatch.GetElapsedTime(idlest.LastRead).TotalSeconds, options.MaxConnections, suppressed);
                return true;
            }
        }
    }

    private async Task RunAsync(PlaintextConnection connection)
    {
        await Task.Yield(); // off the accept loop
        try
        {
            await connection.RunAsync(_stopping.Token, _abort.Token);
        }
        finally
        {
            _connections.TryRemove(connection, out _);
        }
    }

    /// <summary>
    /// Stops accepting and reading, then gives the connections up to <paramref name="drain"/> to queue the
    /// complete lines they hold; what is still unqueued then is counted and logged.
    /// </summary>
    public async Task StopAsync(TimeSpan drain)
    {
        if (_stopping.IsCancellationRequested)
            return;
        _stopping.Cancel();
        _socket?.Dispose();
        await _accepting;
        _abort.CancelAfter(drain);
        long lostBefore = Counters.LinesLostAtStop;
        await Task.WhenAll(_connections.Values);
        if (Counters.LinesLostAtStop > lostBefore)
            LogLostAtStop(Counters.LinesLostAtStop - lostBefore, drain.TotalSeconds);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.Zero);
        _stopping.Dispose();
        _abort.Dispose();
    }
}
