namespace Polymur.Gateway.Primitives;

/// <summary>Capped exponential backoff between reconnect attempts.</summary>
internal struct Backoff
{
    private readonly TimeSpan _initial;
    private readonly TimeSpan _max;
    private TimeSpan _next;

    public Backoff(TimeSpan initial, TimeSpan max) => (_initial, _max, _next) = (initial, max, initial);

    public TimeSpan Next()
    {
        var current = _next;
        _next = TimeSpan.FromTicks(Math.Min(_next.Ticks * 2, _max.Ticks));
        return current;
    }

    public void Reset() => _next = _initial;
}
