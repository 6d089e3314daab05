namespace Polymur.Gateway.Telemetry;

/// <summary>Totals over every destination: routed = delivered + dropped + queued.</summary>
public sealed record PointTotals(long Routed, long Delivered, Dictionary<string, long> Dropped, long Queued);
