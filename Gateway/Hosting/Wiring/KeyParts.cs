using Polymur.Gateway.Configuration;
using Polymur.Gateway.Consul;
using Polymur.Gateway.Keys;
using Polymur.Gateway.Telemetry;

namespace Polymur.Gateway.Hosting.Wiring;

/// <summary>The key cache every request checks: the settings' own, dev mode's, or one kept in sync with Consul.</summary>
internal sealed record KeyParts(IKeyCache Cache, ConsulKeySource? Consul)
{
    public static KeyParts Build(GatewayOptions options, GatewayAppSettings settings, ILoggerFactory loggers)
    {
        if (settings.Keys is not null)
            return new KeyParts(settings.Keys, null);
        if (options.DevMode)
            return new KeyParts(StaticKeyCache.DevMode(), null);
        var consul = settings.Consul ?? throw new ArgumentException("keys come from Consul but no Consul settings were given");
        var source = new ConsulKeySource(new ConsulClient(consul), loggers.CreateLogger<ConsulKeySource>(), ReservedKeyName(options, settings.HostName));
        return new KeyParts(source, source);
    }

    /// <summary>Where the keys stand, for /stats and /readyz.</summary>
    public KeySyncStatus Status(GatewayOptions options) =>
        Consul?.Status ?? new KeySyncStatus(options.DevMode ? "dev-mode" : "static", Cache.Count, true, null, null, null, 0);

    // Under -key-prefix every tenant writes below its own name, so the self-metrics are out of reach as long as
    // no tenant is named like their first segment.
    private static string? ReservedKeyName(GatewayOptions options, string hostName) =>
        options.KeyPrefix && options.MetricsFlushSeconds > 0 ? SelfMetrics.Root(options.MetricsPrefix, hostName).Split('.')[0] : null;
}
