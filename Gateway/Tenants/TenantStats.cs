using System.Globalization;

namespace Polymur.Gateway.Tenants;

/// <summary>One tenant's figures at one moment, for /stats, /metrics, the self-metrics and GET /tenants.</summary>
public sealed record TenantStats(
    string Name,
    bool KeyValid,
    long BatchesAccepted,
    long PointsAccepted,
    long PointsInvalid,
    long PointsTooLong,
    long BytesCompressed,
    long BytesDecompressed,
    Dictionary<string, long> Refused,
    DateTimeOffset? LastBatch,
    double PointsPerSecond10s,
    double PointsPerSecond60s,
    int Inflight,
    int InflightLimit,
    TenantLimitView Limit)
{
    public static TenantStats Of(Tenant t)
    {
        var c = t.Counters;
        var refused = new Dictionary<string, long>(TenantCounters.RefusalStatuses.Length);
        foreach (int status in TenantCounters.RefusalStatuses)
            refused[status.ToString(CultureInfo.InvariantCulture)] = c.Refused(status);
        var enforced = t.Enforced;
        return new TenantStats(
            t.Name,
            t.RemovedAtMs == 0,
            c.BatchesAccepted,
            c.PointsAccepted,
            c.PointsInvalid,
            c.PointsTooLong,
            c.BytesCompressed,
            c.BytesDecompressed,
            refused,
            c.LastBatchUnixMs == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(c.LastBatchUnixMs),
            Math.Round(t.Rate.PerSecond(10), 3),
            Math.Round(t.Rate.PerSecond(60), 3),
            t.Share.Count,
            t.Share.Capacity,
            new TenantLimitView(t.LimitSource, t.Limit.Rate, t.Limit.Burst, enforced.Rate, enforced.Burst));
    }
}

/// <summary>A tenant's limit: where it came from, as configured, and what this gateway enforces (0: none).</summary>
public sealed record TenantLimitView(string Source, double Rate, double Burst, double EnforcedRate, double EnforcedBurst);

/// <summary>GET /tenants/{name}: the figures, and what support needs to tell a tenant what is wrong.</summary>
public sealed record TenantDetail(TenantStats Stats, ClientView[] RecentClients, RejectView[] RecentInvalidLines)
{
    public static TenantDetail Of(Tenant t) => new(
        TenantStats.Of(t),
        [.. t.Clients.Snapshot().Select(c => new ClientView(c.Address, c.ForwardedFor, DateTimeOffset.FromUnixTimeMilliseconds(c.LastSeenMs)))],
        [.. t.Rejects.Snapshot().Select(r => new RejectView(DateTimeOffset.FromUnixTimeMilliseconds(r.TimeUnixMs), r.Reason, r.Line))]);
}

public sealed record ClientView(string Address, string? ForwardedFor, DateTimeOffset LastSeen);

public sealed record RejectView(DateTimeOffset Time, string Reason, string Line);
