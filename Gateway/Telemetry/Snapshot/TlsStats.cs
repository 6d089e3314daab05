namespace Polymur.Gateway.Telemetry;

/// <summary>The HTTPS listener's certificate: when it expires, and how its reloads went.</summary>
public sealed record TlsStats(DateTime NotAfter, string Serial, long Reloads, long ReloadFailures, string? LastError);
