using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Polymur.Gateway.Spool;
using Polymur.Gateway.Primitives;

namespace Polymur.Gateway.Outputs;

/// <summary>
/// Empties one destination's queue into its connection: many batches per write (a gather of up to
/// <see cref="MaxGatherBytes"/>), reconnecting with capped exponential backoff.
/// A line counts as delivered once the destination's TCP acknowledged its bytes (read from the kernel after each
/// send, and every <see cref="WriterOptions.AckPollInterval"/> while bytes are outstanding), not when the kernel
/// took it. What was sent but not acknowledged is the unacknowledged tail: when a connection is lost it is sent
/// again first, from the first line not acknowledged whole, so a line arrives twice only if it was in that tail.
/// A destination whose acknowledgements stand still for -destination-timeout with data outstanding is declared
/// down: its connection is reset and redialled, and its parts spool (or queue and drop) meanwhile.
/// With a spool, a connected writer also replays spooled records, oldest first, beside the live queue and at
/// most at -spool-replay-rate; a record is acknowledged to the spool once all its lines were acknowledged. What
/// is still queued, or not acknowledged, when the writer stops goes to the spool instead of being dropped.
/// Any unexpected exception in the loop is counted and logged, and the writer carries on.
/// </summary>
internal sealed partial class DestinationWriter
{
    private const int MaxGatherBytes = 4 << 20;
    private const int MaxGatherBatches = 256;

    private static readonly TimeSpan RemovalGrace = TimeSpan.FromMilliseconds(100);

    // How often a send that the kernel has not finished taking is looked in on: acknowledgements and the deadline.
    private static readonly TimeSpan SendWatch = TimeSpan.FromMilliseconds(100);

    private readonly Destination _destination;
    private readonly IOutputTransport _transport;
    private readonly ILogger _log;
    private readonly TimeSpan _timeout;
    private readonly TimeSpan _ackPoll;
    private readonly CancellationTokenSource _abort = new();
    private readonly List<PendingWrite> _pending = [];
    private readonly List<ArraySegment<byte>> _segments = [];
    private readonly UnackedTail _tail = new();
    private readonly RecentlyAcknowledged _recent = new();
    private readonly LogLimiter _errorLog = new(TimeSpan.FromSeconds(10));
    private Backoff _backoff;
    private volatile bool _completing;
    private volatile IOutputConnection? _connection;
    private DropReason _reasonForRest = DropReason.ShutdownTimeout;
    private Task _run = Task.CompletedTask;
    private readonly ReplayLimiter? _replay;
    private readonly Timer? _replayWake;
    private readonly Timer _ackWake;
    private Task _tick = Task.CompletedTask;
    private long _downSince;
    private int _failedAttempts;

    // This connection's stream: bytes handed to it, and the last acknowledgement read with when it last moved.
    private long _streamEnd;
    private long _wireAcknowledged;
    private long _progressAt;

    public DestinationWriter(Destination destination, IOutputTransport transport, WriterOptions options, ILogger log)
    {
        _destination = destination;
        _transport = transport;
        _log = log;
        _timeout = options.DestinationTimeout;
        _ackPoll = options.AckPollInterval;
        _backoff = new Backoff(options.ReconnectInitial, options.ReconnectMax);
        if (destination.Spool is not null)
        {
            _replay = new ReplayLimiter(options.ReplayRate);
            _replayWake = new Timer(static q => ((DestinationQueue)q!).Wake(), destination.Queue, Timeout.Infinite, Timeout.Infinite);
        }
        _ackWake = new Timer(static q => ((DestinationQueue)q!).Wake(), destination.Queue, Timeout.Infinite, Timeout.Infinite);
        _abort.Token.Register(() =>
        {
            _connection?.Abort();
            destination.Queue.Wake();
        });
    }

    public Destination Destination => _destination;

    public void Start()
    {
        _destination.WriterRunning = true;
        _run = Task.Run(RunAsync);
    }

    /// <summary>
    /// Delivers what is queued, and waits for the destination to acknowledge it, for up to
    /// <paramref name="drainTimeout"/>; then spools or drops the rest, counted under <paramref name="reasonForRest"/>.
    /// The caller must have stopped offering batches.
    /// </summary>
    public async Task StopAsync(TimeSpan drainTimeout, DropReason reasonForRest)
    {
        _reasonForRest = reasonForRest;
        _completing = true;
        _destination.Queue.Wake();
        if (await Task.WhenAny(_run, Task.Delay(drainTimeout)) != _run)
            _abort.Cancel();
        await _run;
        if (reasonForRest == DropReason.DestinationRemoved)
        {
            // Routing already stopped choosing this destination, but a request that read the old table
            // may still be offering to it. Refuse from now on, and sweep up anything that slipped in.
            _destination.Close();
            await Task.Delay(RemovalGrace);
            long late = DropAll();
            if (late > 0)
                LogDroppedAtStop(_destination.Name, late, reasonForRest);
        }
    }

    private async Task RunAsync()
    {
        _downSince = Stopwatch.GetTimestamp();
        try
        {
            while (!_abort.IsCancellationRequested)
            {
                try
                {
                    if (!await StepAsync())
                        break;
                }
                catch (Exception e) when (!_abort.IsCancellationRequested)
                {
                    await RecoverAsync(e);
                }
            }
        }
        catch (Exception) when (_abort.IsCancellationRequested)
        {
            // Drain time is over; what is left is spooled or dropped, and counted, below.
        }
        finally
        {
            await FinishAsync();
        }
    }

    // One turn of the loop: notice a closed connection, connect, take acknowledgements, send. False: stop.
    private async Task<bool> StepAsync()
    {
        var queue = _destination.Queue;
        if (_connection is { } open && open.Closed.IsCompleted)
        {
            if (open.CloseError == SendResult.TimedOut)
            {
                await DeclareDownAsync(); // the kernel's TCP_USER_TIMEOUT or keepalive, on the same timeout
                return true;
            }
            LogDisconnected(_destination.Name, open.CloseError ?? "closed by peer");
            await LoseConnectionAsync(reset: false);
        }
        // Connect eagerly, also with nothing to send: a destination is known up or down before the first batch
        // needs it. At shutdown, only if something is left to deliver.
        if (_connection is null && !(_completing && _pending.Count == 0 && queue.IsEmpty))
        {
            await ConnectAsync();
            if (_connection is null)
                return true;
        }
        if (_connection is not null && !_tail.IsEmpty)
        {
            TakeAcknowledged();
            if (PastDeadline())
            {
                await DeclareDownAsync();
                return true;
            }
        }
        if (_pending.Count == 0 && !Gather(queue) & !GatherReplay())
        {
            if (_completing && _tail.IsEmpty)
                return false;
            ArmWakes();
            await queue.WaitAsync();
            return true;
        }
        if (_connection is null)
            return true;
        return await SendAsync();
    }

    private async Task ConnectAsync()
    {
        try
        {
            _connection = await _transport.ConnectAsync(_abort.Token);
        }
        catch (Exception e) when (!_abort.IsCancellationRequested)
        {
            _destination.Down = true;
            SpoolPending();
            if (_failedAttempts++ == 0)
                LogUnreachable(_destination.Name, e.Message);
            await Task.Delay(_backoff.Next(), _abort.Token);
            return;
        }
        _ = _connection.Closed.ContinueWith(static (_, q) => ((DestinationQueue)q!).Wake(), _destination.Queue, TaskScheduler.Default);
        _streamEnd = 0;
        _wireAcknowledged = 0;
        _progressAt = Stopwatch.GetTimestamp();
        _destination.Connected = true;
        _destination.Down = false;
        _backoff.Reset();
        if (_failedAttempts == 0)
            LogConnected(_destination.Name);
        else
            LogReconnected(_destination.Name, _failedAttempts, Stopwatch.GetElapsedTime(_downSince).TotalSeconds);
        _failedAttempts = 0;
    }

    // Sends the gather. While the kernel has not taken it all (a full send buffer), acknowledgements are still taken
    // and the deadline watched: a peer that acknowledges nothing has its connection reset, which ends the send.
    private async Task<bool> SendAsync()
    {
        var connection = _connection!;
        _segments.Clear();
        foreach (var p in _pending)
            _segments.Add(p.Data);
        if (_tail.IsEmpty)
            _progressAt = Stopwatch.GetTimestamp(); // outstanding from now
        var sending = connection.SendAsync(_segments);
        bool declaredDown = false;
        if (!sending.IsCompleted)
        {
            var send = sending.AsTask();
            while (await Task.WhenAny(send, Tick()) != send)
            {
                TakeAcknowledged();
                if (!declaredDown && Stopwatch.GetElapsedTime(_progressAt) >= _timeout)
                {
                    declaredDown = true;
                    LogNoProgress(_destination.Name, _timeout.TotalSeconds, _streamEnd - connection.ReadAcknowledged().Payload);
                    connection.Reset();
                }
            }
            sending = new ValueTask<SendResult>(send);
        }
        var result = await sending;
        if (result.Error is null)
        {
            Written(_pending.Count);
            if (!declaredDown)
            {
                TakeAcknowledged();
                return true;
            }
        }
        else
        {
            WrittenPartly(result.BytesSent);
        }
        if (_abort.IsCancellationRequested)
            return false;
        if (declaredDown)
        {
            _destination.Counters.AddTimeout();
            await LoseConnectionAsync(reset: true);
            SpoolPending();
        }
        else if (result.Error == SendResult.TimedOut)
        {
            await DeclareDownAsync();
        }
        else
        {
            LogDisconnected(_destination.Name, result.Error!);
            await LoseConnectionAsync(reset: false);
        }
        return true;
    }

    // One delay shared by the sends that wait in the same interval, rather than a timer for each one.
    private Task Tick()
    {
        if (_tick.IsCompleted)
            _tick = Task.Delay(SendWatch);
        return _tick;
    }

    // Before waiting for work: wake up to read acknowledgements while some are outstanding, and when the next
    // spooled record may go.
    private void ArmWakes()
    {
        if (!_tail.IsEmpty && _connection is not null)
            _ackWake.Change(_ackPoll, Timeout.InfiniteTimeSpan);
        if (_replayWake is not null && _connection is not null && !_completing && _destination.Spool!.HasPending)
            _replayWake.Change(Math.Max(1, (int)Math.Ceiling(_replay!.Wait().TotalMilliseconds)), Timeout.Infinite);
    }

    // Spooled records ride along with live batches, within the gather's limits and the replay rate, and only
    // while connected: a down destination's spool only grows.
    private bool GatherReplay()
    {
        var spool = _destination.Spool;
        if (spool is null || _connection is null || _completing)
            return false;
        long bytes = 0;
        foreach (var p in _pending)
            bytes += p.Data.Count;
        bool any = false;
        while (_pending.Count < MaxGatherBatches && bytes < MaxGatherBytes && _replay!.CanTake())
        {
            var record = spool.Take(out long unreadable);
            if (unreadable > 0)
            {
                _destination.Counters.AddDropped(DropReason.SpoolCorrupt, unreadable);
                _destination.Counters.AddUnspooled(unreadable);
            }
            if (record is null)
                break;
            _replay.Took(record.Points);
            _pending.Add(new PendingWrite(new Batch(record.Buffer, record.Length, record.Points, record.Pool), record));
            bytes += record.Length;
            any = true;
        }
        return any;
    }

    // A down destination's live lines wait on disk, not in this writer's memory, where SIGKILL would lose them: the
    // unacknowledged tail and the gather a lost connection left. Replayed records are on disk already. What the
    // spool refuses stays pending, to go when the destination is back (or to be counted at the stop).
    private void SpoolPending()
    {
        if (_destination.Spool is null || _pending.Count == 0)
            return;
        int kept = 0;
        for (int i = 0; i < _pending.Count; i++)
        {
            var p = _pending[i];
            // Lines sent again as a precaution (delivered and counted before) stay, at most 512 KiB, to go first
            // once it is back; replayed records are on disk already.
            if (Spooled(p))
            {
                if (!p.Sent)
                    _destination.Queue.Complete(p.Batch, p.PointsLeft);
                p.Release();
                continue;
            }
            _pending[kept++] = p;
        }
        _pending.RemoveRange(kept, _pending.Count - kept);
    }

    private bool Gather(DestinationQueue queue)
    {
        long bytes = 0;
        while (_pending.Count < MaxGatherBatches && bytes < MaxGatherBytes && queue.TryDequeue(out var batch))
        {
            _pending.Add(new PendingWrite(batch));
            bytes += batch.Length;
        }
        return _pending.Count > 0;
    }

    // Anything the loop did not expect: counted, logged (at most every 10 s), the connection dropped (what it did
    // not acknowledge goes again), and after a backoff the writer carries on.
    private async Task RecoverAsync(Exception e)
    {
        _destination.Counters.AddWriterError();
        if (_errorLog.TryEnter(out long suppressed))
            LogLoopError(_destination.Name, e.GetType().Name, e.Message, suppressed, e);
        try
        {
            if (_connection is not null)
                await LoseConnectionAsync(reset: true);
        }
        catch (Exception again) when (!_abort.IsCancellationRequested)
        {
            _destination.Counters.AddWriterError();
            if (_errorLog.TryEnter(out suppressed))
                LogLoopError(_destination.Name, again.GetType().Name, again.Message, suppressed, again);
        }
        await Task.Delay(_backoff.Next(), _abort.Token);
    }

    private async Task FinishAsync()
    {
        try
        {
            _replayWake?.Dispose();
            await _ackWake.DisposeAsync();
            if (_connection is not null)
                await LoseConnectionAsync(reset: false, resend: false); // what it did not acknowledge is spooled or dropped
            _destination.Connected = false;
            _recent.Clear();
            long dropped = DropAll();
            if (dropped > 0)
                LogDroppedAtStop(_destination.Name, dropped, _reasonForRest);
        }
        catch (Exception e)
        {
            _destination.Counters.AddWriterError();
            LogLoopError(_destination.Name, e.GetType().Name, e.Message, 0, e);
        }
        finally
        {
            _destination.WriterRunning = false;
            if (!_completing)
                LogWriterEnded(_destination.Name);
        }
    }

    /// <summary>
    /// What is left when the writer stops: spooled when there is a spool with room (replayed at the next start),
    /// else dropped and counted under the stop's reason; this includes lines sent but never acknowledged.
    /// Replayed records not yet delivered stay in the spool.
    /// </summary>
    // A live write's lines appended to the spool and counted there; false without a spool, or when it refused them.
    private bool Spooled(PendingWrite p)
    {
        if (p.Replayed is not null || p.Again || _destination.Spool?.TryAppend(p.Data, p.PointsLeft) != SpoolAppend.Appended)
            return false;
        _destination.Counters.AddSpooled(p.PointsLeft);
        return true;
    }

    private long DropAll()
    {
        var queue = _destination.Queue;
        while (queue.TryDequeue(out var batch))
            _pending.Add(new PendingWrite(batch));
        long dropped = 0;
        foreach (var p in _pending)
        {
            if (p.Replayed is null && !p.Again) // lines sent again as a precaution were counted when first acknowledged
            {
                if (!p.Sent)
                    queue.Complete(p.Batch, p.PointsLeft);
                if (!Spooled(p))
                    dropped += p.PointsLeft;
            }
            p.Release(); // a replayed record stays in the spool, unacknowledged; its buffer goes back
        }
        _pending.Clear();
        _destination.Counters.AddDropped(_reasonForRest, dropped);
        return dropped;
    }
}
