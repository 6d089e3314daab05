using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Polymur.Gateway.Configuration;
using Polymur.Gateway.Keys;

namespace Polymur.Gateway.Tenants;

/// <summary>
/// The tenants: one per valid key name, plus names whose key was removed less than -tenant-grace ago, so the
/// number of series follows the key set. A request finds its tenant with one dictionary read. Once a second
/// the registry follows the key set, samples the rates and applies the limits; a change of limits or of the
/// number of instances applies at once.
/// </summary>
public sealed partial class TenantRegistry : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Tenant> _tenants = new(StringComparer.Ordinal);
    private readonly TenantOptions _options;
    private readonly IKeyCache _keys;
    private readonly ILogger<TenantRegistry> _log;
    private readonly TimeProvider _time;
    private readonly Lock _refresh = new();
    private readonly CancellationTokenSource _stop = new();
    private IReadOnlyDictionary<string, TenantLimit> _limits = new Dictionary<string, TenantLimit>();
    private int _instances = 1;
    private Task _loop = Task.CompletedTask;

    /// <param name="time">The buckets' clock; the system's unless a test moves its own.</param>
    public TenantRegistry(TenantOptions options, IKeyCache keys, ILogger<TenantRegistry> log, TimeProvider? time = null)
    {
        _options = options;
        _time = time ?? TimeProvider.System;
        _keys = keys;
        _log = log;
        Refresh(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), sample: false);
    }

    public TenantOptions Options => _options;

    public int Count => _tenants.Count;

    /// <summary>The gateways that share a cluster-scoped limit, as last seen (1 under instance scope).</summary>
    public int Instances => Volatile.Read(ref _instances);

    /// <summary>The tenant for a name the key cache just accepted.</summary>
    public Tenant Get(string name) => _tenants.TryGetValue(name, out var tenant) ? tenant : Add(name);

    public bool TryFind(string name, out Tenant tenant) => _tenants.TryGetValue(name, out tenant!);

    /// <summary>Every tenant, in name order.</summary>
    public Tenant[] All() => [.. _tenants.Values.OrderBy(t => t.Name, StringComparer.Ordinal)];

    /// <summary>The limits in Consul, by tenant name (bad entries already left out).</summary>
    public void SetLimits(IReadOnlyDictionary<string, TenantLimit> limits)
    {
        Volatile.Write(ref _limits, limits);
        ApplyLimits();
    }

    /// <summary>How many gateways pass their check in Consul; at least 1 (this one).</summary>
    public void SetInstances(int passing)
    {
        int n = Math.Max(1, passing);
        if (Interlocked.Exchange(ref _instances, n) != n)
        {
            LogInstances(n);
            ApplyLimits();
        }
    }

    public void Start() => _loop = Task.Run(LoopAsync);

    private async Task LoopAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
                Refresh(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), sample: true);
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>One tick: follow the key set, sample the rates, apply the limits. Also called by tests.</summary>
    internal void Refresh(long nowMs, bool sample)
    {
        lock (_refresh)
        {
            var present = new HashSet<string>(_keys.Names, StringComparer.Ordinal);
            foreach (var name in present)
            {
                var tenant = Get(name);
                tenant.RemovedAtMs = 0;
            }
            foreach (var tenant in _tenants.Values)
            {
                if (sample)
                    tenant.Rate.Sample(tenant.Counters.PointsAccepted);
                if (present.Contains(tenant.Name))
                    continue;
                if (tenant.RemovedAtMs == 0)
                    tenant.RemovedAtMs = nowMs;
                else if (nowMs - tenant.RemovedAtMs >= _options.Grace.TotalMilliseconds && tenant.Share.Count == 0)
                    _tenants.TryRemove(tenant.Name, out _);
            }
            ApplyLimits();
        }
    }

    // Limits are applied under the refresh lock, so a tenant made while the limits change cannot keep the old one.
    private Tenant Add(string name)
    {
        lock (_refresh)
        {
            var tenant = _tenants.GetOrAdd(name, static (n, registry) => new Tenant(n, registry._options.MaxInflight, registry._time), this);
            Apply(tenant, Volatile.Read(ref _limits), Instances);
            return tenant;
        }
    }

    private void ApplyLimits()
    {
        lock (_refresh)
        {
            var limits = Volatile.Read(ref _limits);
            int instances = Instances;
            foreach (var tenant in _tenants.Values)
                Apply(tenant, limits, instances);
        }
    }

    private void Apply(Tenant tenant, IReadOnlyDictionary<string, TenantLimit> limits, int instances)
    {
        var (limit, source) = limits.TryGetValue(tenant.Name, out var own) ? (own, "consul")
            : _options.DefaultLimit.Unlimited ? (TenantLimit.None, "none")
            : (_options.DefaultLimit, "default");
        tenant.Limit = limit;
        tenant.LimitSource = source;
        var enforced = _options.Scope == LimitScope.Cluster ? limit.DividedBy(instances) : limit;
        tenant.Bucket.Set(enforced.Rate, enforced.Burst);
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await _loop;
    }

    [LoggerMessage(EventId = 731, Level = LogLevel.Information, Message = "Tenant limits are shared by {Instances} passing gateways (-tenant-limit-scope cluster)")]
    private partial void LogInstances(int instances);
}
