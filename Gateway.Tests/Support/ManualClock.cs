namespace Polymur.Gateway.Tests.Support;

/// <summary>A clock that moves only when the test says: time-based logic checked exactly, on any machine.</summary>
public sealed class ManualClock : TimeProvider
{
    private long _ticks = TimeSpan.FromHours(1).Ticks; // not 0: code may take 0 for "never"

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => Interlocked.Read(ref _ticks);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}
