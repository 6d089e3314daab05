namespace Polymur.Gateway.Telemetry;

/// <summary>Ingest connections: open now and the cap, and those closed by the limit or the first-request timeout.</summary>
public sealed record ConnectionStats(int Open, int Limit, long Evicted, long Refused, long TimedOut);
