namespace Polymur.Gateway.Telemetry;

/// <summary>
/// What the ingest endpoints saw. Lines are counted only for accepted batches (answered 200): a refused
/// batch was reported to its sender, who still holds it. Per accepted batch:
/// lines received = valid (routed) + invalid + too long.
/// </summary>
public sealed class IngestCounters
{
    private long _batchesAccepted, _linesReceived, _linesInvalid, _linesTooLong, _selfMetricLines;
    private long _refused401, _refused400, _refused408, _refused413, _refused429, _refused503;

    public long BatchesAccepted => Volatile.Read(ref _batchesAccepted);

    /// <summary>How long /ingest requests took, whatever their answer.</summary>
    public LatencyHistogram Latency { get; } = new();

    /// <summary>Valid + invalid + too-long lines of accepted batches; empty lines are not lines.</summary>
    public long LinesReceived => Volatile.Read(ref _linesReceived);

    public long LinesInvalid => Volatile.Read(ref _linesInvalid);

    public long LinesTooLong => Volatile.Read(ref _linesTooLong);

    public long LinesRouted => LinesReceived - LinesInvalid - LinesTooLong;

    /// <summary>The gateway's own -metrics-flush lines, routed like user lines but not received from a proxy.</summary>
    public long SelfMetricLines => Volatile.Read(ref _selfMetricLines);

    internal void AddSelfMetrics(int lines) => Interlocked.Add(ref _selfMetricLines, lines);

    public long Refused(int status) => status switch
    {
        401 => Volatile.Read(ref _refused401),
        400 => Volatile.Read(ref _refused400),
        408 => Volatile.Read(ref _refused408),
        413 => Volatile.Read(ref _refused413),
        429 => Volatile.Read(ref _refused429),
        503 => Volatile.Read(ref _refused503),
        _ => 0,
    };

    internal void AddAccepted(int valid, int invalid, int tooLong)
    {
        Interlocked.Increment(ref _batchesAccepted);
        Interlocked.Add(ref _linesReceived, valid + invalid + tooLong);
        if (invalid > 0)
            Interlocked.Add(ref _linesInvalid, invalid);
        if (tooLong > 0)
            Interlocked.Add(ref _linesTooLong, tooLong);
    }

    internal void AddRefused(int status)
    {
        switch (status)
        {
            case 401: Interlocked.Increment(ref _refused401); break;
            case 400: Interlocked.Increment(ref _refused400); break;
            case 408: Interlocked.Increment(ref _refused408); break;
            case 413: Interlocked.Increment(ref _refused413); break;
            case 429: Interlocked.Increment(ref _refused429); break;
            case 503: Interlocked.Increment(ref _refused503); break;
        }
    }
}
