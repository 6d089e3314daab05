namespace Polymur.Gateway.Telemetry;

/// <summary>
/// One destination in /stats. Delivered counts lines the destination's TCP acknowledged; written, lines handed to
/// the kernel (resent ones again). Down: not connected, or declared down (timeouts counts those).
/// </summary>
public sealed record DestinationStats(string Name, bool Connected, long Routed, long Delivered, Dictionary<string, long> Dropped, long Queued, long QueueCapacity, long Resent, long Spooled, long SpoolPending, long SpoolBytes, long SpoolFiles, double? SpoolOldestSeconds, long TlsFailures,
    bool Down = false, long Written = 0, long WrittenBytes = 0, long Timeouts = 0, long WriterErrors = 0, bool WriterRunning = true, long Refused = 0);
