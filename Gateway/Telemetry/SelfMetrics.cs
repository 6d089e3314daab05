using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using Polymur.Gateway.Primitives;
using Polymur.Gateway.Outputs;
using Polymur.Gateway.Routing;

namespace Polymur.Gateway.Telemetry;

/// <summary>
/// -metrics-flush N: every N seconds, the gateway's own figures as Graphite lines under -metrics-prefix
/// (<c>&lt;host&gt;.polymur.</c> by default), routed like received lines (same router, same back-pressure)
/// but never key-prefixed. The series are polymur's (README, self-metrics), plus drop and refusal counters.
/// </summary>
internal sealed partial class SelfMetrics : IAsyncDisposable
{
    private readonly StatsCollector _stats;
    private readonly BatchDispatcher _dispatcher;
    private readonly BufferPool _buffers;
    private readonly IngestCounters _counters;
    private readonly string _root;
    private readonly TimeSpan _interval;
    private readonly ILogger _log;
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;

    /// <param name="root">The series' path, as <see cref="Root"/> makes it.</param>
    public SelfMetrics(StatsCollector stats, BatchDispatcher dispatcher, BufferPool buffers, IngestCounters counters, string root, TimeSpan interval, ILogger<SelfMetrics> log)
    {
        _stats = stats;
        _dispatcher = dispatcher;
        _buffers = buffers;
        _counters = counters;
        _root = root + ".";
        _interval = interval;
        _log = log;
    }

    /// <summary>-metrics-prefix with <c>{host}</c> filled in.</summary>
    public static string Root(string prefix, string hostName) => prefix.Replace("{host}", SanitizeHost(hostName), StringComparison.Ordinal);

    /// <summary>A host name as one Graphite path node: dots (and anything unsafe) become underscores.</summary>
    public static string SanitizeHost(string host)
    {
        var sb = new StringBuilder(host.Length);
        foreach (char c in host)
            sb.Append(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_');
        return sb.Length == 0 ? "unknown" : sb.ToString();
    }

    public void Start() => _loop = Task.Run(LoopAsync);

    private async Task LoopAsync()
    {
        using var timer = new PeriodicTimer(_interval);
        long lastReceived = _counters.LinesReceived;
        var last = DateTimeOffset.UtcNow;
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                var now = DateTimeOffset.UtcNow;
                var snapshot = _stats.Take();
                double rate = (snapshot.Ingest.LinesReceived - lastReceived) / Math.Max((now - last).TotalSeconds, 0.001);
                (lastReceived, last) = (snapshot.Ingest.LinesReceived, now);
                await FlushAsync(Lines(snapshot, _root, rate, now.ToUnixTimeSeconds()));
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task FlushAsync(string text)
    {
        int count = text.Count(c => c == '\n');
        var buffer = _buffers.Rent(Encoding.ASCII.GetByteCount(text));
        int length = Encoding.ASCII.GetBytes(text, buffer);
        switch (await _dispatcher.DispatchAsync(buffer, length, count, _stop.Token))
        {
            case DispatchResult.Queued:
                _counters.AddSelfMetrics(count);
                break;
            case DispatchResult.Busy:
                LogNotQueued(count, "in-flight batches at -incoming-queue-cap");
                break;
            case DispatchResult.QueuesFull:
                LogNotQueued(count, "destination queues full");
                break;
            case DispatchResult.NoDestinations:
                LogNotQueued(count, "no destinations");
                break;
            case DispatchResult.SpoolFull or DispatchResult.SpoolFailed:
                LogNotQueued(count, "a destination's spool cannot take them");
                break;
        }
    }

    /// <summary>The lines of one flush, in a fixed order.</summary>
    internal static string Lines(StatsSnapshot s, string root, double rate, long timestamp)
    {
        var sb = new StringBuilder();
        void Line(string name, double value) =>
            sb.Append(root).Append(name).Append(' ').Append(value.ToString("0.###", CultureInfo.InvariantCulture)).Append(' ').Append(timestamp).Append('\n');

        Line("rate", rate);
        Line("incoming-queue.current-size", s.IncomingQueue.CurrentSize);
        Line("incoming-queue.limit", s.IncomingQueue.Limit);
        foreach (var d in s.Destinations)
        {
            string node = d.Name.Replace('.', '_');
            Line($"outgoing-queue.{node}.current-size", d.Queued);
            Line($"outgoing-queue.{node}.limit", d.QueueCapacity);
            Line($"outgoing-queue.{node}.delivered", d.Delivered);
            foreach (var (reason, count) in d.Dropped)
                Line($"outgoing-queue.{node}.dropped.{reason}", count);
            Line($"outgoing-queue.{node}.spool.pending", d.SpoolPending);
            Line($"outgoing-queue.{node}.spool.bytes", d.SpoolBytes);
            Line($"outgoing-queue.{node}.spool.oldest-age-seconds", d.SpoolOldestSeconds ?? 0);
        }
        Line("points.received", s.Ingest.LinesReceived);
        Line("points.invalid", s.Ingest.LinesInvalid);
        Line("points.too-long", s.Ingest.LinesTooLong);
        Line("points.delivered", s.Points.Delivered);
        foreach (var (reason, count) in s.Points.Dropped)
            Line($"points.dropped.{reason}", count);
        Line("points.queued", s.Points.Queued);
        Line("batches.accepted", s.Ingest.BatchesAccepted);
        foreach (var (status, count) in s.Ingest.BatchesRefused)
            Line($"batches.refused.{status}", count);
        foreach (var t in s.Tenants)
        {
            // A tenant's name is one safe path segment (the key-name rules), so it needs no escaping.
            string node = "tenants." + t.Name + ".";
            Line(node + "batches.accepted", t.BatchesAccepted);
            Line(node + "points.accepted", t.PointsAccepted);
            Line(node + "points.invalid", t.PointsInvalid);
            Line(node + "points.too-long", t.PointsTooLong);
            Line(node + "points-per-second", t.PointsPerSecond10s);
            Line(node + "bytes.compressed", t.BytesCompressed);
            Line(node + "bytes.decompressed", t.BytesDecompressed);
            foreach (var (status, count) in t.Refused.All())
                Line(node + "batches.refused." + status, count);
            Line(node + "inflight", t.Inflight);
        }
        Line("runtime.memory.working-set-bytes", s.Runtime.WorkingSetBytes);
        Line("runtime.memory.gc-heap-size-bytes", s.Runtime.GcHeapSizeBytes);
        Line("runtime.memory.gc-committed-bytes", s.Runtime.GcCommittedBytes);
        foreach (var (generation, bytes) in s.Runtime.GcGenerationSizeBytes)
            Line($"runtime.memory.gc-generation-size-bytes.{generation}", bytes);
        Line("runtime.memory.allocated-bytes-total", s.Runtime.TotalAllocatedBytes);
        Line("runtime.buffer-pool.retained-bytes", s.Buffers.RetainedBytes);
        Line("runtime.buffer-pool.allocations", s.Buffers.Allocations);
        Line("runtime.gc.gen0-collections", s.Runtime.Gen0Collections);
        Line("runtime.gc.gen1-collections", s.Runtime.Gen1Collections);
        Line("runtime.gc.gen2-collections", s.Runtime.Gen2Collections);
        Line("runtime.gc.pause-seconds-total", s.Runtime.GcPauseSeconds);
        Line("runtime.cpu-seconds-total", s.Runtime.CpuSeconds);
        Line("runtime.threads", s.Runtime.Threads);
        return sb.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await _loop;
    }

    [LoggerMessage(EventId = 601, Level = LogLevel.Warning, Message = "Self-metrics: {Lines} lines not queued ({Reason})")]
    private partial void LogNotQueued(int lines, string reason);
}
