using System.Diagnostics;

namespace Polymur.Gateway.Spool;

/// <summary>
/// -spool-replay-rate: a token bucket in points per second, holding at most one second's worth, so a
/// recovering carbon gets the backlog at that pace and not all at once. A record may take the balance below
/// zero (records are whole batches); the next one then waits until it is positive again. One writer uses it.
/// </summary>
internal sealed class ReplayLimiter(int pointsPerSecond)
{
    private double _tokens = pointsPerSecond;
    private long _last = Stopwatch.GetTimestamp();

    public int PointsPerSecond => pointsPerSecond;

    /// <summary>True when a record may be replayed now.</summary>
    public bool CanTake()
    {
        Refill();
        return _tokens > 0;
    }

    public void Took(int points) => _tokens -= points;

    /// <summary>How long until <see cref="CanTake"/> turns true.</summary>
    public TimeSpan Wait()
    {
        Refill();
        return _tokens > 0 ? TimeSpan.Zero : TimeSpan.FromSeconds((1 - _tokens) / pointsPerSecond);
    }

    private void Refill()
    {
        long now = Stopwatch.GetTimestamp();
        _tokens = Math.Min(pointsPerSecond, _tokens + (now - _last) * (double)pointsPerSecond / Stopwatch.Frequency);
        _last = now;
    }
}
