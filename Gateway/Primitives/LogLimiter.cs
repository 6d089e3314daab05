using System.Diagnostics;

namespace Polymur.Gateway.Primitives;

/// <summary>
/// Lets a noisy event through at most once per interval and says how many were held back, so an attacker
/// or a broken proxy cannot flood the log. Lock-free: one interlocked exchange per event.
/// </summary>
public sealed class LogLimiter(TimeSpan interval)
{
    private readonly long _intervalTicks = (long)(interval.TotalSeconds * Stopwatch.Frequency);
    private long _nextAllowed;
    private long _suppressed;

    /// <summary>True when this event should be logged; <paramref name="suppressed"/> counts those skipped since the last one.</summary>
    public bool TryEnter(out long suppressed)
    {
        long now = Stopwatch.GetTimestamp();
        long next = Volatile.Read(ref _nextAllowed);
        if (now >= next && Interlocked.CompareExchange(ref _nextAllowed, now + _intervalTicks, next) == next)
        {
            suppressed = Interlocked.Exchange(ref _suppressed, 0);
            return true;
        }
        Interlocked.Increment(ref _suppressed);
        suppressed = 0;
        return false;
    }
}
