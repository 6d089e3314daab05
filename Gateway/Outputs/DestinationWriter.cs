using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Polymur.Gateway.Outputs;

/// <summary>
/// Empties one destination's queue into its connection: many batches per write (a gather of up to
/// <see cref="MaxGatherBytes"/>), reconnecting with capped exponential backoff. A gather whose write fails
/// is sent again, whole, on the next connection: a line can then arrive twice, never half. What the
/// kernel had already accepted when a connection dies is lost, and TCP cannot tell which lines those were.
/// </summary>
internal sealed partial class DestinationWriter
{
    private const int MaxGatherBytes = 4 << 20;
    private const int MaxGatherBatches = 256;

    private readonly Destination _destination;
    private readonly IOutputTransport _transport;
    private readonly ILogger _log;
    private readonly CancellationTokenSource _abort = new();
    private Backoff _backoff;
    private volatile bool _completing;
    private Task _run = Task.CompletedTask;

    public DestinationWriter(Destination destination, IOutputTransport transport, WriterOptions options, ILogger log)
    {
        _destination = destination;
        _transport = transport;
        _log = log;
        _backoff = new Backoff(options.ReconnectInitial, options.ReconnectMax);
        _abort.Token.Register(destination.Queue.Wake);
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
    }

    private DropReason _reasonForRest = DropReason.ShutdownTimeout;

    private async Task RunAsync()
    {
        var queue = _destination.Queue;
        var pending = new List<Batch>();
        var segments = new List<ArraySegment<byte>>();
        IOutputConnection? connection = null;
        var downSince = Stopwatch.GetTimestamp();
        int failedAttempts = 0;
        try
        {
            while (!_abort.IsCancellationRequested)
            {
                if (connection is not null && connection.Closed.IsCompleted)
                {
                    LogDisconnected(_destination.Name, "closed by peer");
                    connection = await DropConnectionAsync(connection);
                    downSince = Stopwatch.GetTimestamp();
                }
                if (pending.Count == 0 && !Gather(queue, pending))
                {
                    if (_completing)
                        break;
                    await queue.WaitAsync();
                    continue;
                }
                if (connection is null)
                {
                    try
                    {
                        connection = await _transport.ConnectAsync(_abort.Token);
                    }
                    catch (Exception e) when (!_abort.IsCancellationRequested)
                    {
                        if (failedAttempts++ == 0)
                            LogUnreachable(_destination.Name, e.Message);
                        await Task.Delay(_backoff.Next(), _abort.Token);
                        continue;
                    }
                    _ = connection.Closed.ContinueWith(static (_, q) => ((DestinationQueue)q!).Wake(), queue, TaskScheduler.Default);
                    _destination.Connected = true;
                    _backoff.Reset();
                    if (failedAttempts == 0)
                        LogConnected(_destination.Name);
                    else
                        LogReconnected(_destination.Name, failedAttempts, Stopwatch.GetElapsedTime(downSince).TotalSeconds);
                    failedAttempts = 0;
                }

                segments.Clear();
                long points = 0;
                foreach (var batch in pending)
                {
                    segments.Add(batch.Data);
                    points += batch.Points;
                }
                try
                {
                    await connection.SendAsync(segments, _abort.Token);
                }
                catch (Exception e) when (!_abort.IsCancellationRequested)
                {
                    LogDisconnected(_destination.Name, e.Message);
                    connection = await DropConnectionAsync(connection);
                    downSince = Stopwatch.GetTimestamp();
                    continue;
                }
                _destination.Counters.AddDelivered(points);
                queue.Complete(points);
                foreach (var batch in pending)
                    batch.Release();
                pending.Clear();
            }
        }
        catch (Exception) when (_abort.IsCancellationRequested)
        {
            // Drain time is over; what is left is dropped and counted below.
        }
        finally
        {
            if (connection is not null)
                await DropConnectionAsync(connection);
            long dropped = DropAll(queue, pending);
            if (dropped > 0)
                LogDroppedAtStop(_destination.Name, dropped, _reasonForRest);
        }
    }

    private static bool Gather(DestinationQueue queue, List<Batch> into)
    {
        long bytes = 0;
        while (into.Count < MaxGatherBatches && bytes < MaxGatherBytes && queue.TryDequeue(out var batch))
        {
            into.Add(batch);
            bytes += batch.Length;
        }
        return into.Count > 0;
    }

    private long DropAll(DestinationQueue queue, List<Batch> pending)
    {
        long dropped = 0;
        while (queue.TryDequeue(out var batch))
            pending.Add(batch);
        foreach (var batch in pending)
        {
            dropped += batch.Points;
            batch.Release();
        }
        pending.Clear();
        _destination.Counters.AddDropped(_reasonForRest, dropped);
        queue.Complete(dropped);
        return dropped;
    }

    private async ValueTask<IOutputConnection?> DropConnectionAsync(IOutputConnection connection)
    {
        _destination.Connected = false;
        await connection.DisposeAsync();
        return null;
    }
}

/// <summary>How writers dial and redial.</summary>
internal sealed record WriterOptions
{
    public TimeSpan DialTimeout { get; init; } = TimeSpan.FromSeconds(5);
    public TimeSpan ReconnectInitial { get; init; } = TimeSpan.FromMilliseconds(100);
    public TimeSpan ReconnectMax { get; init; } = TimeSpan.FromSeconds(5);
}
