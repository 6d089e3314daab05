using System.Diagnostics;

namespace Polymur.Gateway.Telemetry;

/// <summary>
/// When the gateway is ready for traffic: its listeners are up and, when keys come from Consul, the first key
/// sync has succeeded or the start-up grace time has passed (a gateway that cannot reach Consul still serves
/// whatever keys it has; the grace keeps a load balancer from waiting forever).
/// </summary>
public sealed class Readiness(Func<bool>? keysLoaded, TimeSpan grace)
{
    private long _listenersUpAt;

    public void ListenersUp() => Interlocked.CompareExchange(ref _listenersUpAt, Stopwatch.GetTimestamp(), 0);

    /// <summary>Ready or not, and why, in one short sentence.</summary>
    public (bool Ready, string Reason) Check()
    {
        long up = Interlocked.Read(ref _listenersUpAt);
        if (up == 0)
            return (false, "starting: listeners are not up yet");
        if (keysLoaded is null)
            return (true, "ready");
        if (keysLoaded())
            return (true, "ready: API keys loaded from Consul");
        var waited = Stopwatch.GetElapsedTime(up);
        return waited >= grace
            ? (true, $"ready without keys: the first Consul key sync has not succeeded after {grace.TotalSeconds:0}s (-ready-grace)")
            : (false, $"waiting for the first Consul key sync ({waited.TotalSeconds:0}s of {grace.TotalSeconds:0}s -ready-grace)");
    }
}
