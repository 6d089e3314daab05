using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Polymur.Gateway.Outputs;

/// <summary>
/// Empties one destination's queue into its connection: many batches per write (a gather of up to
/// <see cref="MaxGatherBytes"/>), reconnecting with capped exponential backoff. When a write fails, the
/// lines the kernel took whole count as delivered and the rest, from the first line it did not take
/// whole, is sent again on the next connection: no line is sent twice or cut in half by the gateway.
/// What the kernel had taken when a connection dies may still be lost, and TCP cannot tell which lines.
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
    private readonly List<Pending> _pending = [];
    private readonly List<ArraySegment<byte>> _segments = [];
    private Backoff _backoff;
    private volatile bool _completing;
    private volatile IOutputConnection? _connection;
    private DropReason _reasonForRest = DropReason.ShutdownTimeout;
    private Task _run = Task.CompletedTask;

    public DestinationWriter(Destination destination, IOutputTransport transport, WriterOptions options, ILogger log)
    {
        _destination = destination;
        _transport = transport;
        _log = log;
        _backoff = new Backoff(options.ReconnectInitial, options.ReconnectMax);
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
                if (_pending.Count == 0 && !Gather(queue))
                {
                    if (_completing)
                        break;
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
            if (_connection is not null)
                await DropConnectionAsync();
            long dropped = DropAll();
            if (dropped > 0)
                LogDroppedAtStop(_destination.Name, dropped, _reasonForRest);
        }
    }

    private bool Gather(DestinationQueue queue)
    {
        long bytes = 0;
        while (_pending.Count < MaxGatherBatches && bytes < MaxGatherBytes && queue.TryDequeue(out var batch))
        {
            _pending.Add(new Pending(batch));
            bytes += batch.Length;
        }
        return _pending.Count > 0;
    }

    private void CompleteAll()
    {
        long points = 0;
        foreach (var p in _pending)
        {
            points += p.PointsLeft;
            p.Batch.Release();
        }
        _pending.Clear();
        Delivered(points);
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
                points += p.PointsLeft;
                p.Batch.Release();
                continue;
            }
            var taken = p.Data.AsSpan(0, (int)bytesSent);
            int lastLf = taken.LastIndexOf((byte)'\n');
            if (lastLf >= 0)
            {
                int lines = taken[..(lastLf + 1)].Count((byte)'\n');
                points += lines;
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

    private long DropAll()
    {
        var queue = _destination.Queue;
        while (queue.TryDequeue(out var batch))
            _pending.Add(new Pending(batch));
        long dropped = 0;
        foreach (var p in _pending)
        {
            dropped += p.PointsLeft;
            p.Batch.Release();
        }
        _pending.Clear();
        _destination.Counters.AddDropped(_reasonForRest, dropped);
        queue.Complete(dropped);
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

    /// <summary>A batch being written, from <see cref="Offset"/> on, with <see cref="PointsLeft"/> lines not yet delivered.</summary>
    private readonly record struct Pending(Batch Batch, int Offset, int PointsLeft)
    {
        public Pending(Batch batch)
            : this(batch, 0, batch.Points)
        {
        }

        public ArraySegment<byte> Data => Batch.Data[Offset..];

        public Pending Advance(int bytes, int lines) => this with { Offset = Offset + bytes, PointsLeft = PointsLeft - lines };
    }
}

/// <summary>How writers dial and redial.</summary>
internal sealed record WriterOptions
{
    public TimeSpan DialTimeout { get; init; } = TimeSpan.FromSeconds(5);
    public TimeSpan ReconnectInitial { get; init; } = TimeSpan.FromMilliseconds(100);
    public TimeSpan ReconnectMax { get; init; } = TimeSpan.FromSeconds(5);
}
