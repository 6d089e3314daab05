namespace Polymur.Gateway.Telemetry;

public sealed record IngestStats(long BatchesAccepted, Dictionary<string, long> BatchesRefused, long LinesReceived, long LinesInvalid, long LinesTooLong, long SelfMetricLines);
