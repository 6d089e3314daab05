using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Polymur.Gateway.Spool;
using Polymur.Gateway.Primitives;

namespace Polymur.Gateway.Outputs;

/// <summary>
/// Empties one destination's queue into its connection: many batches per write (a gather of up to
/// <see cref="MaxGatherBytes"/>), reconnecting with capped exponential backoff. When a write fails, the
/// lines the kernel took whole count as delivered and the rest, from the first line it did not take
/// whole, is sent again on the next connection: no line is sent twice or cut in half by the gateway.
/// What the kernel had taken when a connection dies may still be lost, and TCP cannot tell which lines: so, with
/// a resend window (on with the spool), the batches sent last are kept and sent again first when a connection is
/// lost (a destination that dies discards what sat unread in its socket). Graphite overwrites a point with the
/// same timestamp, so a line sent twice is harmless; one lost is not.
/// With a spool, a connected writer also replays spooled records, oldest first, beside the live queue and at
/// most at -spool-replay-rate; a record is acknowledged to the spool once all its lines were taken. What is
/// still queued when the writer stops goes to the spool instead of being dropped.
/// </summary>
internal sealed partial class DestinationWriter
{
    private const int MaxGatherBytes = 4 << 20;
    private const int MaxGatherBatches = 256;

    private static readonly TimeSpan RemovalGrace = TimeSpan.FromMilliseconds(100);

    private readonly Destination _destination;
    private readonly IOutputTransport _transport;
    private readonly ILogger _log;
    private readonly CancellationTokenSource _abort = new();
    private readonly List<PendingWrite> _pending = [];
    private readonly List<ArraySegment<byte>> _segments = [];
    private readonly ResendWindow _recent;
    private Backoff _backoff;
    private volatile bool _completing;
    private volatile IOutputConnection? _connection;
    private DropReason _reasonForRest = DropReason.ShutdownTimeout;
    private Task _run = Task.CompletedTask;
    private readonly ReplayLimiter? _replay;
    private readonly Timer? _replayWake;

    public DestinationWriter(Destination destination, IOutputTransport transport, WriterOptions options, ILogger log)
    {
        _destination = destination;
        _transport = transport;
        _log = log;
        _backoff = new Backoff(options.ReconnectInitial, options.ReconnectMax);
        _recent = new ResendWindow(options.ResendWindowBytes, MaxGatherBatches);
        if (destination.Spool is not null)
        {
            _replay = new ReplayLimiter(options.ReplayRate);
            _replayWake = new Timer(static q => ((DestinationQueue)q!).Wake(), destination.Queue, Timeout.Infinite, Timeout.Infinite);
        }
        _abort.Token.Register(() =>
        {
            _connection?.Abort();
            destination.Queue.Wake();
        });
    }

    public Destination Destination => _destination;

    public void Start() => _run = Task.Run(RunAsync);

    /// <summary>
    /// Delivers what is queued, for up to <paramref name="drainTimeout"/>; then drops the rest, counted
    /// under <paramref name="reasonForRest"/>. The caller must have stopped offering batches.
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
        var queue = _destination.Queue;
        var downSince = Stopwatch.GetTimestamp();
        int failedAttempts = 0;
        try
        {
            while (!_abort.IsCancellationRequested)
            {
                if (_connection is { } open && open.Closed.IsCompleted)
                {
                    LogDisconnected(_destination.Name, "closed by peer");
                    ResendRecent();
                    await DropConnectionAsync();
                    downSince = Stopwatch.GetTimestamp();
                }
                // Connect eagerly, also with nothing to send: a destination is known up or down before
                // the first batch needs it. At shutdown, only if something is left to deliver.
                if (_connection is null && !(_completing && _pending.Count == 0 && queue.IsEmpty))
                {
                    try
                    {
                        _connection = await _transport.ConnectAsync(_abort.Token);
                    }
                    catch (Exception e) when (!_abort.IsCancellationRequested)
                    {
                        _destination.Down = true;
                        if (failedAttempts++ == 0)
                            LogUnreachable(_destination.Name, e.Message);
                        await Task.Delay(_backoff.Next(), _abort.Token);
                        continue;
                    }
                    _ = _connection.Closed.ContinueWith(static (_, q) => ((DestinationQueue)q!).Wake(), queue, TaskScheduler.Default);
                    _destination.Connected = true;
                    _destination.Down = false;
                    _backoff.Reset();
                    if (failedAttempts == 0)
                        LogConnected(_destination.Name);
                    else
                        LogReconnected(_destination.Name, failedAttempts, Stopwatch.GetElapsedTime(downSince).TotalSeconds);
                    failedAttempts = 0;
                }
                if (_pending.Count == 0 && !Gather(queue) & !GatherReplay())
                {
                    if (_completing)
                        break;
                    ArmReplayWake();
                    await queue.WaitAsync();
                    continue;
                }
                if (_connection is null)
                    continue;

                _segments.Clear();
                foreach (var p in _pending)
                    _segments.Add(p.Data);
                var result = await _connection.SendAsync(_segments);
                if (result.Error is null)
                {
                    CompleteAll();
                    continue;
                }
                CompleteSent(result.BytesSent);
                if (_abort.IsCancellationRequested)
                    break;
                LogDisconnected(_destination.Name, result.Error);
                ResendRecent();
                await DropConnectionAsync();
                downSince = Stopwatch.GetTimestamp();
            }
        }
        catch (Exception) when (_abort.IsCancellationRequested)
        {
            // Drain time is over; what is left is dropped and counted below.
        }
        finally
        {
            _replayWake?.Dispose();
            if (_connection is not null)
                await DropConnectionAsync();
            _recent.Clear();
            long dropped = DropAll();
            if (dropped > 0)
                LogDroppedAtStop(_destination.Name, dropped, _reasonForRest);
        }
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

    // With records left in the spool and the rate spent, wake up when the next one may go.
    private void ArmReplayWake()
    {
        if (_replayWake is not null && _connection is not null && _destination.Spool!.HasPending)
            _replayWake.Change(Math.Max(1, (int)Math.Ceiling(_replay!.Wait().TotalMilliseconds)), Timeout.Infinite);
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

    private void CompleteAll()
    {
        long points = 0;
        foreach (var p in _pending)
            points += Finished(p, p.PointsLeft);
        _pending.Clear();
        Delivered(points);
    }

    // A pending batch's last lines were taken by the kernel. Returns the live points to count as delivered; a
    // replayed record counts on its own, and one sent again counts nothing (it was counted the first time).
    private long Finished(PendingWrite p, long points)
    {
        if (p.Resend)
        {
            p.Batch.ReleaseLease();
            return 0;
        }
        if (p.Replayed is not null)
            Replayed(p, points);
        p.Batch.Lease();
        p.Batch.Release(); // delivered: its in-flight slot is free; the buffer stays leased for a resend
        _recent.Remember(p with { Resend = true });
        return p.Replayed is null ? points : 0;
    }

    // The connection is lost: what it carried last may not have been read, so it goes out again first.
    private void ResendRecent()
    {
        long lines = _recent.MoveTo(_pending);
        if (lines > 0)
            _destination.Counters.AddResent(lines);
    }

    // A spooled record's lines were taken (all of them when it is done): they count as delivered, they leave
    // the spool's pending count, and a done record is acknowledged so its file can go.
    private void Replayed(PendingWrite p, long points)
    {
        _destination.Counters.AddDelivered(points);
        _destination.Counters.AddUnspooled(points);
        if (points == p.PointsLeft)
            _destination.Spool!.Acknowledge(p.Replayed!);
    }

    // The kernel took bytesSent bytes of the gather: whole lines among them are delivered; the gather
    // resumes at the first line it did not take whole.
    private void CompleteSent(long bytesSent)
    {
        long points = 0;
        int done = 0;
        for (; done < _pending.Count; done++)
        {
            var p = _pending[done];
            if (bytesSent >= p.Data.Count)
            {
                bytesSent -= p.Data.Count;
                points += Finished(p, p.PointsLeft);
                continue;
            }
            var taken = p.Data.AsSpan(0, (int)bytesSent);
            int lastLf = taken.LastIndexOf((byte)'\n');
            if (lastLf >= 0)
            {
                int lines = taken[..(lastLf + 1)].Count((byte)'\n');
                if (!p.Resend)
                {
                    if (p.Replayed is not null)
                        Replayed(p, lines);
                    else
                        points += lines;
                    p.Batch.Lease();
                    _recent.Remember(p with { End = p.Offset + lastLf + 1, PointsLeft = lines, Resend = true });
                }
                _pending[done] = p.Advance(lastLf + 1, lines);
            }
            break;
        }
        _pending.RemoveRange(0, done);
        Delivered(points);
    }

    private void Delivered(long points)
    {
        _destination.Counters.AddDelivered(points);
        _destination.Queue.Complete(points);
    }

    /// <summary>
    /// What is left when the writer stops: spooled when there is a spool with room (replayed at the next start),
    /// else dropped and counted under the stop's reason. Replayed records not yet delivered stay in the spool.
    /// </summary>
    private long DropAll()
    {
        var queue = _destination.Queue;
        while (queue.TryDequeue(out var batch))
            _pending.Add(new PendingWrite(batch));
        long dropped = 0, left = 0;
        var spool = _destination.Spool;
        foreach (var p in _pending)
        {
            if (p.Resend)
            {
                p.Batch.ReleaseLease(); // delivered before, and counted then; sent again only as a precaution
                continue;
            }
            if (p.Replayed is not null)
            {
                p.Batch.Release(); // its record stays in the spool, unacknowledged; the buffer goes back
                continue;
            }
            left += p.PointsLeft;
            if (spool is not null && spool.TryAppend(p.Data, p.PointsLeft) == SpoolAppend.Appended)
                _destination.Counters.AddSpooled(p.PointsLeft);
            else
                dropped += p.PointsLeft;
            p.Batch.Release();
        }
        _pending.Clear();
        _destination.Counters.AddDropped(_reasonForRest, dropped);
        queue.Complete(left);
        return dropped;
    }

    private async ValueTask DropConnectionAsync()
    {
        _destination.Connected = false;
        _destination.Down = true;
        var connection = _connection;
        _connection = null;
        if (connection is not null)
            await connection.DisposeAsync();
    }
}
