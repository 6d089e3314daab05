namespace Polymur.Gateway.Telemetry;

/// <summary>
/// The plaintext listener (-listen-tcp-port): its connections, and the time they spent not reading. Evicted: idle
/// connections closed to make room at -tcp-max-connections.
/// </summary>
public sealed record PlaintextStats(
    string Tenant,
    int Open,
    int Limit,
    int StalledNow,
    long Accepted,
    long Refused,
    long IdleClosed,
    long Stalls,
    double StalledSeconds,
    long PartialLinesDropped,
    long LinesLostAtStop,
    long Evicted = 0);
