using Polymur.Gateway.Configuration;

namespace Polymur.Gateway.Tenants;

/// <summary>The -tenant-* flags, resolved.</summary>
public sealed record TenantOptions(int MaxInflight, TenantLimit DefaultLimit, LimitScope Scope, TimeSpan Grace, TimeSpan QueueWait)
{
    /// <summary>-tenant-max-inflight's default: a quarter of -incoming-queue-cap, so that it takes four busy tenants to fill it.</summary>
    public const int DefaultShareDivisor = 4;

    public static TenantOptions From(GatewayOptions options) => new(
        options.TenantMaxInflight ?? Math.Max(1, options.IncomingQueueCap / DefaultShareDivisor),
        TenantLimit.Of(options.TenantRateLimit),
        options.TenantLimitScope,
        options.TenantGrace,
        options.QueueWait);
}
