using Polymur.Gateway.Configuration;
using Polymur.Gateway.Telemetry;

namespace Polymur.Gateway.Hosting.Wiring;

/// <summary>What the gateway says about itself: /stats and /metrics, readiness, -metrics-flush and the summary log.</summary>
internal sealed record TelemetryParts(StatsCollector Stats, Readiness Readiness, SelfMetrics? SelfMetrics, SummaryLog? Summary)
{
    public static TelemetryParts Build(GatewayOptions options, GatewayAppSettings settings, OutputParts outputs, KeyParts keys, TenantParts tenants, IngestParts ingest, ConnectionLimit connections, ServingCertificate? certificate, ILoggerFactory loggers)
    {
        var spools = outputs.Spools;
        var stats = new StatsCollector(
            ingest.Counters,
            outputs.Destinations,
            ingest.Inflight,
            outputs.Buffers,
            options.MaxBatchMemory,
            () => keys.Status(options),
            () => new ConnectionStats(connections.Open, connections.Max, connections.Evicted, connections.Refused, connections.TimedOut),
            () => spools is null ? null : SpoolStatsOf(spools),
            tenants.Registry,
            () => certificate is null ? null : new TlsStats(certificate.Current.NotAfter.ToUniversalTime(), certificate.Current.SerialNumber, certificate.Reloads, certificate.Failures, certificate.LastError),
            () => ingest.Plaintext is not { Counters: var tcp } plaintext ? null
                : new PlaintextStats(options.TcpTenant!, tcp.Open, options.TcpMaxConnections, plaintext.Stalled(), tcp.Accepted, tcp.Refused, tcp.IdleClosed, tcp.Stalls, tcp.Stalled.TotalSeconds, tcp.PartialLinesDropped, tcp.LinesLostAtStop, tcp.Evicted));
        var consul = keys.Consul;
        var readiness = new Readiness(consul is null ? null : () => consul.FirstSync.IsCompleted, options.ReadyGrace);
        var selfMetrics = options.MetricsFlushSeconds > 0
            ? new SelfMetrics(stats, ingest.Dispatcher, outputs.Buffers, ingest.Counters, SelfMetrics.Root(options.MetricsPrefix, settings.HostName), TimeSpan.FromSeconds(options.MetricsFlushSeconds), loggers.CreateLogger<SelfMetrics>())
            : null;
        var summary = options.SummaryInterval > TimeSpan.Zero ? new SummaryLog(stats, options.SummaryInterval, loggers.CreateLogger<SummaryLog>()) : null;
        return new TelemetryParts(stats, readiness, selfMetrics, summary);
    }

    private static SpoolStats SpoolStatsOf(Spool.SpoolSet spools)
    {
        var all = spools.AllCounters();
        return new SpoolStats(spools.Budget.UsedBytes, spools.Budget.MaxBytes, [.. spools.Orphans],
            all.Sum(c => c.DamagedBytes), all.Sum(c => c.WriteFailures), all.Sum(c => c.FsyncFailures), all.Sum(c => c.LostPoints), all.Sum(c => c.HeldFiles), all.Sum(c => c.Errors));
    }
}
