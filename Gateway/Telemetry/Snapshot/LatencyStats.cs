namespace Polymur.Gateway.Telemetry;

/// <summary>A latency histogram: cumulative counts per upper bound (one more for +Inf), the sum and the count.</summary>
public sealed record LatencyStats(double[] Bounds, long[] Cumulative, double SumSeconds, long Count);
