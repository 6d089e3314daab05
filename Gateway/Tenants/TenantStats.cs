using System.Text.Json.Serialization;

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
    TenantRefusals Refused,
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
            new TenantRefusals(c.Refused(400), c.Refused(408), c.Refused(413), c.Refused(429), c.Refused(503)),
            c.LastBatchUnixMs == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(c.LastBatchUnixMs),
            Math.Round(t.Rate.PerSecond(10), 3),
            Math.Round(t.Rate.PerSecond(60), 3),
            t.Share.Count,
            t.Share.Capacity,
            new TenantLimitView(t.LimitSource, t.Limit.Rate, t.Limit.Burst, enforced.Rate, enforced.Burst));
    }
}

/// <summary>A tenant's refused requests by status (a 401 has no tenant). A record, not a dictionary: 10,000 tenants are one snapshot.</summary>
public sealed record TenantRefusals(
    [property: JsonPropertyName("400")] long Status400,
    [property: JsonPropertyName("408")] long Status408,
    [property: JsonPropertyName("413")] long Status413,
    [property: JsonPropertyName("429")] long Status429,
    [property: JsonPropertyName("503")] long Status503)
{
    /// <summary>(status, count) in status order, for the text formats.</summary>
    public IEnumerable<(string Status, long Count)> All()
    {
        yield return ("400", Status400);
        yield return ("408", Status408);
        yield return ("413", Status413);
        yield return ("429", Status429);
        yield return ("503", Status503);
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
