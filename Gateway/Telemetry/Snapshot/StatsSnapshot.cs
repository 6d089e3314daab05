using Polymur.Gateway.Tenants;

namespace Polymur.Gateway.Telemetry;

/// <summary>Every counter at one moment: what /stats, /metrics and the self-metrics flush all report.</summary>
public sealed record StatsSnapshot(
    DateTimeOffset StartTime,
    double UptimeSeconds,
    IngestStats Ingest,
    PointTotals Points,
    DestinationStats[] Destinations,
    QueueStats IncomingQueue,
    KeyStats Keys,
    BufferStats Buffers,
    ConnectionStats Connections,
    SpoolStats? Spool,
    RuntimeStats Runtime,
    TenantStats[] Tenants,
    TlsStats? Tls,
    PlaintextStats? Plaintext,
    LatencyStats IngestLatency);
