namespace Polymur.Gateway.Tenants;

/// <summary>
/// Points per second over the last 10 s and the last minute, from a running total sampled once a second
/// into a ring. The ring is made at the first sample that moved, so an idle tenant costs nothing here.
/// </summary>
public sealed class RateWindow
{
    private const int Slots = 61;

    private long[]? _totals;
    private int _next, _filled;

    /// <summary>Records the total at this second's tick (one thread: the registry's).</summary>
    internal void Sample(long total)
    {
        if (_totals is null)
        {
            if (total == 0)
                return;
            _totals = new long[Slots];
            // Until then, the total was 0: a tenant's first batch shows as a rate, not as a jump from nothing.
            _filled = 1;
            _next = 1;
        }
        _totals[_next] = total;
        _next = (_next + 1) % Slots;
        _filled = Math.Min(_filled + 1, Slots);
    }

    /// <summary>The rate over the last <paramref name="seconds"/> (at most 60), or over what was seen when that is less.</summary>
    public double PerSecond(int seconds)
    {
        var totals = _totals;
        int filled = Volatile.Read(ref _filled), next = Volatile.Read(ref _next);
        if (totals is null || filled < 2)
            return 0;
        int span = Math.Min(seconds, filled - 1);
        long now = totals[(next - 1 + Slots) % Slots];
        long then = totals[(next - 1 - span + 2 * Slots) % Slots];
        return (now - then) / (double)span;
    }
}
