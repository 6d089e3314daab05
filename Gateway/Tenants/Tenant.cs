using Polymur.Gateway.Primitives;

namespace Polymur.Gateway.Tenants;

/// <summary>
/// Everything the gateway keeps for one key name: its figures, its share of the in-flight batches, its
/// quota, and what support needs to see. Made once per name, then only updated, once per batch.
/// </summary>
public sealed class Tenant
{
    internal Tenant(string name, int maxInflight, TimeProvider? time = null)
    {
        Name = name;
        Share = new InflightBatches(maxInflight);
        Bucket = new TokenBucket(time);
    }

    public string Name { get; }

    public TenantCounters Counters { get; } = new();

    /// <summary>Batches being read, inflated, queued or written for this tenant (-tenant-max-inflight).</summary>
    public InflightBatches Share { get; }

    public RecentClients Clients { get; } = new();

    public RecentRejects Rejects { get; } = new();

    public RateWindow Rate { get; } = new();

    internal TokenBucket Bucket { get; }

    /// <summary>Recent points per gzip'd byte: a batch's points guessed before it is read (<see cref="QuotaClaim"/>).</summary>
    internal PointsPerByte Density { get; } = new();

    /// <summary>The limit configured for the tenant, before any division among instances.</summary>
    public TenantLimit Limit { get; internal set; } = TenantLimit.None;

    /// <summary>Where <see cref="Limit"/> came from: "consul", "default" or "none".</summary>
    public string LimitSource { get; internal set; } = "none";

    /// <summary>The limit this gateway enforces: <see cref="Limit"/>, or its share of it under -tenant-limit-scope cluster.</summary>
    public TenantLimit Enforced => Bucket.Rate <= 0 ? TenantLimit.None : new TenantLimit(Bucket.Rate, Bucket.Burst);

    /// <summary>When the name left the key set (Unix ms); 0 while its key is valid.</summary>
    public long RemovedAtMs { get; internal set; }
}
