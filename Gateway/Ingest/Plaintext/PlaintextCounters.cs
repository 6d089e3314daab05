namespace Polymur.Gateway.Ingest.Plaintext;

/// <summary>
/// The plaintext listener's connections and stalls. Its lines are counted with /ingest's (IngestCounters) and
/// under its tenant, each read's worth of lines as one batch.
/// </summary>
public sealed class PlaintextCounters
{
    private int _open;
    private long _accepted, _refused, _idleClosed, _stalls, _stalledTicks, _partialDropped, _linesLostAtStop, _evicted;

    public int Open => Volatile.Read(ref _open);

    public long Accepted => Volatile.Read(ref _accepted);

    /// <summary>Closed at once because -tcp-max-connections were open.</summary>
    public long Refused => Volatile.Read(ref _refused);

    /// <summary>Idle connections closed to make room for a new one at -tcp-max-connections.</summary>
    public long Evicted => Volatile.Read(ref _evicted);

    /// <summary>Closed after -tcp-idle-timeout without a byte.</summary>
    public long IdleClosed => Volatile.Read(ref _idleClosed);

    /// <summary>Times a connection stopped reading because the gateway could not take its lines yet.</summary>
    public long Stalls => Volatile.Read(ref _stalls);

    /// <summary>Time connections spent not reading, summed over connections.</summary>
    public TimeSpan Stalled => TimeSpan.FromTicks(Volatile.Read(ref _stalledTicks));

    /// <summary>Unfinished last lines (no LF) of connections that ended, however they ended: dropped, as carbon does.</summary>
    public long PartialLinesDropped => Volatile.Read(ref _partialDropped);

    /// <summary>Complete lines read but not yet queued when the stop's drain time ran out.</summary>
    public long LinesLostAtStop => Volatile.Read(ref _linesLostAtStop);

    internal void Opened()
    {
        Interlocked.Increment(ref _open);
        Interlocked.Increment(ref _accepted);
    }

    internal void Closed() => Interlocked.Decrement(ref _open);

    internal void AddRefused() => Interlocked.Increment(ref _refused);

    internal void AddEvicted() => Interlocked.Increment(ref _evicted);

    internal void AddIdleClosed() => Interlocked.Increment(ref _idleClosed);

    internal void AddStall() => Interlocked.Increment(ref _stalls);

    internal void AddStalled(TimeSpan time) => Interlocked.Add(ref _stalledTicks, time.Ticks);

    internal void AddPartialDropped() => Interlocked.Increment(ref _partialDropped);

    internal void AddLostAtStop(long lines) => Interlocked.Add(ref _linesLostAtStop, lines);
}
