using System.Diagnostics;

namespace Polymur.Gateway.Spool;

/// <summary>
/// At most one log line per <see cref="Interval"/> for one kind of event, with how many were held back since the
/// last: a disk that fails every write must not write a log line per request. Not thread-safe: the spool's lock
/// guards it.
/// </summary>
internal sealed class LogLimiter
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    private long _next;
    private long _held;

    /// <summary>True when a line may be written now; <paramref name="held"/> is how many were not since the last one.</summary>
    public bool Allow(out long held)
    {
        long now = Stopwatch.GetTimestamp();
        if (now < _next)
        {
            _held++;
            held = 0;
            return false;
        }
        _next = now + (long)(Interval.TotalSeconds * Stopwatch.Frequency);
        held = _held;
        _held = 0;
        return true;
    }
}
