using System.Diagnostics;
using Polymur.Gateway.Primitives;
using Polymur.Gateway.Keys;
using Polymur.Gateway.Outputs;
using Polymur.Gateway.Tenants;

namespace Polymur.Gateway.Telemetry;

/// <summary>
/// Takes snapshots of the running gateway's counters. A figure the kernel must supply (threads, CPU time, RSS)
/// reads as -1 when it cannot, for example once file descriptors run out: telemetry never takes the process down.
/// </summary>
public sealed class StatsCollector(IngestCounters ingest, DestinationSet destinations, InflightBatches inflight, BufferPool buffers, long batchMemoryLimit, Func<KeySyncStatus> keys, Func<ConnectionStats> connections, Func<SpoolStats?> spool, TenantRegistry tenants, Func<TlsStats?> tls, Func<PlaintextStats?> plaintext)
{
    private readonly DateTimeOffset _start = DateTimeOffset.UtcNow;
    private readonly long _startTimestamp = Stopwatch.GetTimestamp();

    public DateTimeOffset StartTime => _start;

    public StatsSnapshot Take()
    {
        long nowMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var perDestination = destinations.Current.Select(d =>
        {
            var spooled = d.Spool?.Counters;
            return new DestinationStats(
                d.Name,
                d.Connected,
                d.Counters.Routed,
                d.Counters.Delivered,
                DropsOf(d.Counters),
                d.Counters.Queued,
                d.Queue.CapacityPoints,
                d.Counters.Resent,
                d.Counters.Spooled,
                d.Counters.SpoolPending,
                spooled?.Bytes ?? 0,
                spooled?.Files ?? 0,
                spooled?.OldestCreatedUnixMs is long oldest ? (nowMs - oldest) / 1000.0 : null,
                d.Counters.TlsFailures,
                d.Down || !d.Connected,
                d.Counters.Written,
                d.Counters.WrittenBytes,
                d.Counters.Timeouts,
                d.Counters.WriterErrors,
                d.WriterRunning,
                d.Counters.Refused);
        }).ToArray();
        var dropped = DropReasons.All.ToDictionary(r => DropReasons.Name(r), r => perDestination.Sum(d => d.Dropped[DropReasons.Name(r)]));
        var key = keys();
        var gc = GC.GetGCMemoryInfo();
        return new StatsSnapshot(
            _start,
            Stopwatch.GetElapsedTime(_startTimestamp).TotalSeconds,
            new IngestStats(
                ingest.BatchesAccepted,
                new Dictionary<string, long> { ["400"] = ingest.Refused(400), ["401"] = ingest.Refused(401), ["408"] = ingest.Refused(408), ["413"] = ingest.Refused(413), ["429"] = ingest.Refused(429), ["503"] = ingest.Refused(503) },
                ingest.LinesReceived,
                ingest.LinesInvalid,
                ingest.LinesTooLong,
                ingest.SelfMetricLines),
            new PointTotals(perDestination.Sum(d => d.Routed), perDestination.Sum(d => d.Delivered), dropped, perDestination.Sum(d => d.Queued)),
            perDestination,
            new QueueStats(inflight.Count, inflight.Capacity),
            new KeyStats(key.Source, key.Keys, key.Reachable, key.LastSync, key.LastError),
            new BufferStats(buffers.InUseBytes, batchMemoryLimit, buffers.RetainedBytes, buffers.MaxRetainedBytes, buffers.Allocations),
            connections(),
            spool(),
            new RuntimeStats(
                (long)OrMinusOne(static () => Environment.WorkingSet),
                gc.HeapSizeBytes,
                gc.TotalCommittedBytes,
                GenerationSizes(gc),
                GC.GetTotalAllocatedBytes(),
                GC.CollectionCount(0),
                GC.CollectionCount(1),
                GC.CollectionCount(2),
                GC.GetTotalPauseDuration().TotalSeconds,
                OrMinusOne(static () => Environment.CpuUsage.TotalTime.TotalSeconds),
                (int)OrMinusOne(static () => Process.GetCurrentProcess().Threads.Count)),
            [.. tenants.All().Select(TenantStats.Of)],
            tls(),
            plaintext(),
            ingest.Latency.Snapshot());
    }

    private static double OrMinusOne(Func<double> read)
    {
        try
        {
            return read();
        }
        catch (Exception)
        {
            return -1;
        }
    }

    /// <summary>Each generation's size after the last collection: shows where a growing heap grows.</summary>
    private static Dictionary<string, long> GenerationSizes(GCMemoryInfo gc)
    {
        var sizes = new Dictionary<string, long>();
        var generations = gc.GenerationInfo;
        for (int i = 0; i < GenerationNames.Length; i++)
            sizes[GenerationNames[i]] = i < generations.Length ? generations[i].SizeAfterBytes : 0;
        return sizes;
    }

    /// <summary>The order of <see cref="GCMemoryInfo.GenerationInfo"/>: three generations, then the large and pinned object heaps.</summary>
    private static readonly string[] GenerationNames = ["gen0", "gen1", "gen2", "loh", "poh"];

    private static Dictionary<string, long> DropsOf(DestinationCounters c) =>
        DropReasons.All.ToDictionary(DropReasons.Name, c.Dropped);
}
