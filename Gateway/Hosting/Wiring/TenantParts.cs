using Polymur.Gateway.Configuration;
using Polymur.Gateway.Consul;
using Polymur.Gateway.Tenants;

namespace Polymur.Gateway.Hosting.Wiring;

/// <summary>
/// The tenants, their limits from Consul (when the keys come from there), and this gateway's place in Consul's
/// catalog: the registration, and the count of passing instances a cluster-scoped limit is divided by.
/// </summary>
internal sealed class TenantParts(TenantRegistry registry, ConsulClient? consul, ConsulLimitSource? limits, GatewayOptions options, ILoggerFactory loggers) : IAsyncDisposable
{
    private ServiceRegistrar? _registrar;
    private ServiceInstances? _instances;

    public TenantRegistry Registry => registry;

    public ConsulLimitSource? Limits => limits;

    public ServiceRegistrar? Registrar => _registrar;

    public static TenantParts Build(GatewayOptions options, GatewayAppSettings settings, KeyParts keys, ILoggerFactory loggers)
    {
        var registry = new TenantRegistry(TenantOptions.From(options), keys.Cache, loggers.CreateLogger<TenantRegistry>(), settings.TenantClock);
        var consul = settings.Consul is { } c && (keys.Consul is not null || options.ConsulRegister) ? new ConsulClient(c) : null;
        var limits = consul is not null && keys.Consul is not null ? new ConsulLimitSource(consul, registry, loggers.CreateLogger<ConsulLimitSource>()) : null;
        return new TenantParts(registry, consul, limits, options, loggers);
    }

    /// <summary>Before the listeners open: the limits, so no batch meets a tenant before its limit is known.</summary>
    public async Task StartAsync()
    {
        registry.Start();
        if (limits is not null)
            await limits.StartAsync();
    }

    /// <summary>Once the listeners are bound (their ports are known): registers, and follows the instance count.</summary>
    public void Register(IReadOnlyList<string> ingestUrls, string statsUrl, string hostName)
    {
        if (consul is null || !options.ConsulRegister)
            return;
        _registrar = new ServiceRegistrar(consul, Registration(ingestUrls, statsUrl, hostName), loggers.CreateLogger<ServiceRegistrar>());
        _registrar.Start();
        if (options.TenantLimitScope == LimitScope.Cluster)
        {
            _instances = new ServiceInstances(consul, options.ConsulService, registry.SetInstances, loggers.CreateLogger<ServiceInstances>());
            _instances.Start();
        }
    }

    private ServiceRegistration Registration(IReadOnlyList<string> ingestUrls, string statsUrl, string hostName)
    {
        int? Port(string scheme) => ingestUrls.Where(u => u.StartsWith(scheme + "://", StringComparison.Ordinal)).Select(u => new Uri(u).Port).Cast<int?>().FirstOrDefault();
        int? http = Port("http"), https = Port("https");
        var meta = new Dictionary<string, string>();
        var tags = new List<string>();
        if (http is { } h)
        {
            tags.Add("http");
            meta["http_port"] = h.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        if (https is { } s)
        {
            tags.Add("https");
            meta["https_port"] = s.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        int port = http ?? https ?? 0;
        return new ServiceRegistration
        {
            Id = $"{options.ConsulService}-{Telemetry.SelfMetrics.SanitizeHost(hostName)}-{port}",
            Name = options.ConsulService,
            // Empty: the agent's address. A gateway bound to one address is registered with it.
            Address = options.ListenAddress is "" or "0.0.0.0" or "::" ? null : options.ListenAddress,
            Port = port,
            Tags = [.. tags],
            Meta = meta,
            Check = new ServiceCheck { Http = statsUrl.TrimEnd('/') + "/healthz", Status = "passing" },
        };
    }

    /// <summary>At SIGTERM, first of all: out of the catalog, so balancers stop sending before the drain.</summary>
    public async Task DeregisterAsync()
    {
        if (_instances is not null)
            await _instances.DisposeAsync();
        if (_registrar is not null)
            await _registrar.DeregisterAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await DeregisterAsync();
        if (limits is not null)
            await limits.DisposeAsync();
        await registry.DisposeAsync();
        consul?.Dispose();
    }
}
