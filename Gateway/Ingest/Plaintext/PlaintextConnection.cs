using System.Net;
using System.Net.Sockets;
using Polymur.Gateway.Primitives;

namespace Polymur.Gateway.Ingest.Plaintext;

/// <summary>
/// How a plaintext connection ended. However it ended, an unfinished last line (no LF) is dropped and counted, never
/// forwarded: it may be cut short (a sender that stopped in the middle of a timestamp would have its cut value
/// stored). carbon-cache does the same: Twisted's LineOnlyReceiver drops its buffer when the connection is lost.
/// </summary>
internal enum ConnectionEnd
{
    /// <summary>The sender closed (FIN).</summary>
    Closed,

    /// <summary>-tcp-idle-timeout passed without a byte.</summary>
    Idle,

    /// <summary>Reset, or another socket error.</summary>
    Reset,

    /// <summary>The gateway is stopping: complete lines are queued.</summary>
    Stopping,

    /// <summary>Closed, while idle, to make room for a new connection at -tcp-max-connections.</summary>
    Evicted,
}

/// <summary>
/// One sender's connection: reads into one buffer, hands each run of complete lines to the intake, and keeps a
/// line cut by a read for the next one. While more bytes are already waiting it reads on before handing over,
/// so a busy sender's lines go in batches and a quiet one's are queued at once.
/// </summary>
internal sealed class PlaintextConnection(Socket socket, PlaintextIntake intake, PlaintextOptions options, BufferPool buffers)
{
    private readonly PlaintextCounters _counters = intake.Counters;
    private readonly IPAddress? _peer = (socket.RemoteEndPoint as IPEndPoint)?.Address;
    private byte[] _buffer = [];
    private int _filled;
    private bool _skipping; // inside a line too long to keep, until its LF
    private int _skippedTooLong;
    private long _handingOverSince; // Stopwatch timestamp while lines are being queued, else 0
    private long _lastRead = System.Diagnostics.Stopwatch.GetTimestamp();
    private int _waiting; // 1 while waiting for bytes: the only time it may be evicted
    private int _evicted;

    // Never disposed: it is cancelled from the accept loop, maybe as the connection ends; it holds no timer.
    private readonly CancellationTokenSource _evict = new();

    /// <summary>The peer's address, for logs.</summary>
    public string Peer => _peer?.ToString() ?? "?";

    /// <summary>Waiting for bytes and not evicted: a candidate to make room for a new connection.</summary>
    public bool IsIdle => Volatile.Read(ref _waiting) == 1 && Volatile.Read(ref _evicted) == 0;

    public bool Evicted => Volatile.Read(ref _evicted) == 1;

    /// <summary>When the last bytes came (or the connection opened), as a Stopwatch timestamp.</summary>
    public long LastRead => Interlocked.Read(ref _lastRead);

    /// <summary>Closes the connection if it is idle, once; its complete lines are queued, an unfinished one dropped.</summary>
    public bool TryEvict()
    {
        if (!IsIdle || Interlocked.CompareExchange(ref _evicted, 1, 0) != 0)
            return false;
        _evict.Cancel();
        return true;
    }

    /// <summary>Whether the connection has been waiting longer than <paramref name="threshold"/> to queue a read's lines (not reading meanwhile).</summary>
    public bool IsStalled(TimeSpan threshold)
    {
        long since = Volatile.Read(ref _handingOverSince);
        return since != 0 && System.Diagnostics.Stopwatch.GetElapsedTime(since) > threshold;
    }

    /// <summary>
    /// Runs until the sender closes, goes idle or resets, or <paramref name="stopping"/> fires. Then queues what
    /// is left, giving up only when <paramref name="abort"/> fires (the stop's drain time ran out).
    /// </summary>
    public async Task RunAsync(CancellationToken stopping, CancellationToken abort)
    {
        _buffer = buffers.Rent(options.ReadBufferSize);
        try
        {
            var end = await ReadAsync(stopping, abort);
            int complete = CompleteLength();
            if (complete < _filled)
                intake.DroppedUnfinished(Peer, end);
            if (complete > 0 || _skippedTooLong > 0)
                await HandOverAsync(complete, abort);
        }
        catch (OperationCanceledException) when (abort.IsCancellationRequested)
        {
            _counters.AddLostAtStop(_buffer.AsSpan(0, CompleteLength()).Count((byte)'\n'));
        }
        finally
        {
            buffers.Return(_buffer);
            socket.Dispose();
            _counters.Closed();
        }
    }

    private async Task<ConnectionEnd> ReadAsync(CancellationToken stopping, CancellationToken abort)
    {
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(stopping, _evict.Token);
        while (true)
        {
            if (options.IdleTimeout > TimeSpan.Zero)
                idle.CancelAfter(options.IdleTimeout);
            int read;
            Volatile.Write(ref _waiting, 1);
            try
            {
                read = await socket.ReceiveAsync(_buffer.AsMemory(_filled), SocketFlags.None, idle.Token);
            }
            catch (OperationCanceledException)
            {
                if (stopping.IsCancellationRequested)
                    return ConnectionEnd.Stopping;
                if (Evicted)
                    return ConnectionEnd.Evicted;
                _counters.AddIdleClosed();
                return ConnectionEnd.Idle;
            }
            catch (SocketException)
            {
                return ConnectionEnd.Reset;
            }
            finally
            {
                Volatile.Write(ref _waiting, 0);
            }
            Interlocked.Exchange(ref _lastRead, System.Diagnostics.Stopwatch.GetTimestamp());
            if (read == 0)
                return ConnectionEnd.Closed;
            if (_skipping)
                read = SkipRestOfLongLine(read);
            _filled += read;
            if (Evicted)
                return ConnectionEnd.Evicted; // evicted as these bytes came: their complete lines are queued, as at any end
            if (_filled < _buffer.Length && socket.Available > 0)
                continue;
            int complete = CompleteLength();
            if (complete > 0)
                await HandOverAsync(complete, abort);
            if (_filled > options.MaxLineLength)
            {
                // A line longer than the limit with no end in sight: count it, and drop it up to its LF.
                _skippedTooLong++;
                _skipping = true;
                _filled = 0;
            }
        }
    }

    /// <summary>Queues <c>_buffer[..complete]</c> and moves the rest to the front.</summary>
    private async Task HandOverAsync(int complete, CancellationToken abort)
    {
        Volatile.Write(ref _handingOverSince, System.Diagnostics.Stopwatch.GetTimestamp());
        try
        {
            await intake.DeliverAsync(_buffer, complete, _skippedTooLong, _peer, abort);
        }
        finally
        {
            Volatile.Write(ref _handingOverSince, 0);
        }
        _skippedTooLong = 0;
        _buffer.AsSpan(complete, _filled - complete).CopyTo(_buffer);
        _filled -= complete;
    }

    private int CompleteLength() => _buffer.AsSpan(0, _filled).LastIndexOf((byte)'\n') + 1;

    // Drops the new bytes up to and including the long line's LF; returns how many are left after it.
    private int SkipRestOfLongLine(int read)
    {
        var fresh = _buffer.AsSpan(_filled, read);
        int lf = fresh.IndexOf((byte)'\n');
        if (lf < 0)
            return 0;
        _skipping = false;
        fresh[(lf + 1)..].CopyTo(fresh);
        return read - lf - 1;
    }
}
