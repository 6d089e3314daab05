namespace Polymur.Gateway.Telemetry;

public sealed record DestinationStats(string Name, bool Connected, long Routed, long Delivered, Dictionary<string, long> Dropped, long Queued, long QueueCapacity, long Resent, long Spooled, long SpoolPending, long SpoolBytes, long SpoolFiles, double? SpoolOldestSeconds, long TlsFailures, long Refused = 0);
