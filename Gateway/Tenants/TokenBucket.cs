namespace Polymur.Gateway.Tenants;

/// <summary>
/// A points-per-second budget with a burst. A batch is taken whole or refused whole: it needs its points in
/// the bucket, or a full bucket when it is larger than the burst (it then leaves the bucket in debt, so over
/// time the rate holds whatever the batch size). A rate of 0 is no limit, and costs one read.
/// </summary>
/// <param name="time">The clock; the system's unless a test moves its own.</param>
internal sealed class TokenBucket(TimeProvider? time = null)
{
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
            Refill(NowMs());
            _tokens = wasUnlimited ? burst : Math.Min(_tokens, burst);
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
            Refill(NowMs());
            if (_tokens >= 1)
                return false;
            retryAfter = TimeSpan.FromSeconds((1 - _tokens) / _rate);
            return true;
        }
    }

    /// <summary>Takes <paramref name="points"/>, or says how long until the bucket would hold them.</summary>
    public bool TryTake(int points, out TimeSpan retryAfter)
    {
        retryAfter = TimeSpan.Zero;
        if (points == 0 || Volatile.Read(ref _rate) <= 0)
            return true;
        lock (_gate)
        {
            if (_rate <= 0)
                return true;
            Refill(NowMs());
            double need = Math.Min(points, _burst);
            if (_tokens >= need)
            {
                _tokens -= points;
                return true;
            }
            retryAfter = TimeSpan.FromSeconds((need - _tokens) / _rate);
            return false;
        }
    }

    // Milliseconds on a monotonic clock; the system's counts from boot, so it is never the 0 that means "not yet".
    private long NowMs() => (long)_time.GetElapsedTime(0, _time.GetTimestamp()).TotalMilliseconds;

    private void Refill(long nowMs)
    {
        if (_last != 0 && _rate > 0)
            _tokens = Math.Min(_burst, _tokens + (nowMs - _last) * _rate / 1000.0);
        _last = nowMs;
    }
}
