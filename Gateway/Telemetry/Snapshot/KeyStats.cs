namespace Polymur.Gateway.Telemetry;

public sealed record KeyStats(string Source, int Count, bool Reachable, DateTimeOffset? LastSync, string? LastError);
