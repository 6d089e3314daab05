namespace Polymur.Gateway.Tenants;

/// <summary>
/// A points-per-second budget with a burst. A batch is taken whole or refused whole: it needs its points in
/// the bucket, or a full bucket when it is larger than the burst (it then leaves the bucket in debt, so over
/// time the rate holds whatever the batch size). A rate of 0 is no limit, and costs one read.
/// Points may be reserved on an estimate before a batch is read, and settled once it is counted
/// (<see cref="TryTake(int, int, out TimeSpan)"/>) or given back (<see cref="Release"/>).
/// </summary>
/// <param name="time">The clock; the system's unless a test moves its own.</param>
internal sealed class TokenBucket(TimeProvider? time = null)
{
    /// <summary>
    /// The longest wait a refusal names. A tiny rate, or a deep debt, can mean years, past what a TimeSpan holds
    /// (an OverflowException, so a 500) or a client's timer: the client comes back in an hour and asks again.
    /// </summary>
    public static readonly TimeSpan MaxWait = TimeSpan.FromHours(1);

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Lock _gate = new();
    private double _rate, _burst, _tokens;
    private long _last;

    public double Rate => Volatile.Read(ref _rate);

    public double Burst => Volatile.Read(ref _burst);

    /// <summary>Sets the budget; the tokens saved so far are kept, up to the new burst.</summary>
    public void Set(double rate, double burst)
    {
        lock (_gate)
        {
            if (rate == _rate && burst == _burst)
                return;
            bool wasUnlimited = _rate <= 0;
            long now = NowMs();
            _tokens = wasUnlimited ? burst : Math.Min(Available(now), burst);
            _last = now;
            _burst = burst;
            Volatile.Write(ref _rate, rate);
        }
    }

    /// <summary>
    /// Whether the bucket holds less than one point: any batch with a point would be refused, so a request can be
    /// refused before its body is read and inflated, which is where a tenant far over its quota would cost CPU.
    /// </summary>
    public bool IsSpent(out TimeSpan retryAfter)
    {
        retryAfter = TimeSpan.Zero;
        if (Volatile.Read(ref _rate) <= 0)
            return false;
        lock (_gate)
        {
            if (_rate <= 0)
                return false;
            double tokens = Available(NowMs());
            if (tokens >= 1)
                return false;
            retryAfter = Wait(1 - tokens);
            return true;
        }
    }

    /// <summary>Takes <paramref name="points"/>, or says how long until the bucket would hold them.</summary>
    public bool TryTake(int points, out TimeSpan retryAfter) => TryTake(points, reserved: 0, out retryAfter);

    /// <summary>
    /// Takes <paramref name="points"/> for a batch that already holds <paramref name="reserved"/> of them (taken on
    /// an estimate before it was read): the bucket is charged the difference, into debt when the estimate was low,
    /// as long as the whole batch would have passed on the bucket with its reservation back in. Refused, the
    /// reservation is given back.
    /// </summary>
    public bool TryTake(int points, int reserved, out TimeSpan retryAfter)
    {
        retryAfter = TimeSpan.Zero;
        if ((points == 0 && reserved == 0) || Volatile.Read(ref _rate) <= 0)
            return true;
        lock (_gate)
        {
            if (_rate <= 0)
                return true;
            long now = NowMs();
            double tokens = Math.Min(_burst, Available(now) + reserved);
            double need = Math.Min(points, _burst);
            bool taken = tokens >= need;
            // Only a change is written: a refusal that leaves the balance as it was does not move the clock on,
            // so a slow refill is never lost to rounding, however often the bucket is asked.
            if (taken || reserved > 0)
            {
                _tokens = taken ? tokens - points : tokens;
                _last = now;
            }
            if (!taken)
                retryAfter = Wait(need - tokens);
            return taken;
        }
    }

    /// <summary>Gives back points reserved for a batch that was never counted (refused, broken, or its client gone).</summary>
    public void Release(int reserved)
    {
        if (reserved <= 0 || Volatile.Read(ref _rate) <= 0)
            return;
        lock (_gate)
        {
            if (_rate <= 0)
                return;
            long now = NowMs();
            _tokens = Math.Min(_burst, Available(now) + reserved);
            _last = now;
        }
    }

    // Milliseconds on a monotonic clock; the system's counts from boot, so it is never the 0 that means "not yet".
    private long NowMs() => (long)_time.GetElapsedTime(0, _time.GetTimestamp()).TotalMilliseconds;

    // The balance now: what was left at the last change, plus the refill since, up to the burst.
    private double Available(long nowMs) =>
        _last == 0 || _rate <= 0 ? _tokens : Math.Min(_burst, _tokens + (nowMs - _last) * _rate / 1000.0);

    private TimeSpan Wait(double points) => TimeSpan.FromSeconds(Math.Min(points / _rate, MaxWait.TotalSeconds));
}
