using System.Diagnostics;

namespace Polymur.Gateway.Telemetry;

/// <summary>
/// /ingest request durations, from the handler's start to its answer, in fixed buckets: Prometheus histogram
/// buckets, counted lock-free (two interlocked adds a request).
/// </summary>
public sealed class LatencyHistogram
{
    public static readonly double[] Bounds = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly long[] _counts = new long[Bounds.Length + 1];
    private long _sumTicks;

    public void Observe(long startTimestamp)
    {
        var elapsed = Stopwatch.GetElapsedTime(startTimestamp);
        double seconds = elapsed.TotalSeconds;
        int i = 0;
        while (i < Bounds.Length && seconds > Bounds[i])
            i++;
        Interlocked.Increment(ref _counts[i]);
        Interlocked.Add(ref _sumTicks, elapsed.Ticks);
    }

    /// <summary>Cumulative counts per bound (the last is +Inf), their sum in seconds, and the count.</summary>
    public LatencyStats Snapshot()
    {
        var cumulative = new long[_counts.Length];
        long total = 0;
        for (int i = 0; i < _counts.Length; i++)
            cumulative[i] = total += Volatile.Read(ref _counts[i]);
        return new LatencyStats(Bounds, cumulative, TimeSpan.FromTicks(Interlocked.Read(ref _sumTicks)).TotalSeconds, total);
    }
}
