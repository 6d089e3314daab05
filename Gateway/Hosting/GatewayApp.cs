using Polymur.Gateway.Configuration;
using Polymur.Gateway.Consul;
using Polymur.Gateway.Hosting.Wiring;
using Polymur.Gateway.Ingest;
using Polymur.Gateway.Keys;
using Polymur.Gateway.Outputs;
using Polymur.Gateway.Primitives;
using Polymur.Gateway.Spool;
using Polymur.Gateway.Telemetry;
using Polymur.Gateway.Tenants;

namespace Polymur.Gateway.Hosting;

/// <summary>
/// The composition root: builds every part from the options and wires them together. Nothing here is
/// static or global, so several gateways can run in one process (the tests do).
/// </summary>
public sealed partial class GatewayApp : IAsyncDisposable
{
    private readonly WebApplication _web;
    private readonly GatewayOptions _options;
    private readonly ILogger<GatewayApp> _log;
    private readonly TimeSpan _dropReportInterval;
    private readonly string _hostName;
    private bool _stopped;

    private readonly Listeners _listeners;
    private readonly ConnectionLimit _connections;
    private readonly OutputParts _outputs;
    private readonly KeyParts _keys;
    private readonly TenantParts _tenants;
    private readonly ServingCertificate? _certificate;
    private readonly ReloadLoop _reload;
    private readonly ProcessSignals _signals;
    private readonly IngestParts _ingest;
    private readonly TelemetryParts _telemetry;

    private GatewayApp(WebApplication web, GatewayOptions options, GatewayAppSettings settings, Listeners listeners, ConnectionLimit connections, OutputParts outputs, KeyParts keys, TenantParts tenants, IngestParts ingest, TelemetryParts telemetry, ServingCertificate? certificate, ReloadLoop reload, ProcessSignals signals)
    {
        _certificate = certificate;
        _reload = reload;
        _signals = signals;
        _web = web;
        _options = options;
        _dropReportInterval = settings.DropReportInterval;
        _listeners = listeners;
        _connections = connections;
        _outputs = outputs;
        _keys = keys;
        _tenants = tenants;
        _hostName = settings.HostName;
        _ingest = ingest;
        _telemetry = telemetry;
        _log = web.Services.GetRequiredService<ILogger<GatewayApp>>();
    }

    public DestinationSet Destinations => _outputs.Destinations;

    public IngestCounters Counters => _ingest.Counters;

    public InflightBatches Inflight => _ingest.Inflight;

    /// <summary>The key cache every request checks.</summary>
    public IKeyCache Keys => _keys.Cache;

    /// <summary>The Consul key source, when keys come from Consul.</summary>
    public ConsulKeySource? ConsulKeys => _keys.Consul;

    public StatsCollector Stats => _telemetry.Stats;

    /// <summary>Every tenant's figures, share and limit.</summary>
    public TenantRegistry Tenants => _tenants.Registry;

    /// <summary>This gateway's registration in Consul's catalog, under -consul-register.</summary>
    public ServiceRegistrar? Registration => _tenants.Registrar;

    public Readiness Readiness => _telemetry.Readiness;

    internal ConnectionLimit Connections => _connections;

    /// <summary>The HTTPS listener's certificate, when -cert and -key are set.</summary>
    internal ServingCertificate? Certificate => _certificate;

    internal SpoolSet? Spools => _outputs.Spools;

    /// <summary>The bound stats URL (/stats, /metrics, /healthz, /readyz).</summary>
    public string StatsAddress => _listeners.Urls(ListenerScope.Stats)[0];

    /// <summary>The bound ingest URLs (http:// and https://), with real ports when 0 was asked for.</summary>
    public IReadOnlyList<string> Addresses => _listeners.Urls(ListenerScope.Ingest);

    /// <summary>The plaintext listener's bound address, under -listen-tcp-port.</summary>
    public System.Net.IPEndPoint? PlaintextEndpoint => _ingest.Plaintext?.Endpoint;

    internal Ingest.Plaintext.PlaintextCounters? PlaintextCounters => _ingest.Plaintext?.Counters;

    internal Ingest.Plaintext.PlaintextListener? Plaintext => _ingest.Plaintext;

    /// <summary>The bound admin API URL.</summary>
    public string AdminAddress => _listeners.Urls(ListenerScope.Admin)[0];

    public static GatewayApp Create(GatewayOptions options, GatewayAppSettings settings)
    {
        var listeners = new Listeners();
        var connections = new ConnectionLimit(options.MaxConnections, options.FirstRequestTimeout);
        var clientCertificates = ClientCertificates.From(options.ClientCaPath);
        var web = WebHost.Build(options, settings, listeners, connections, clientCertificates, out var certificate);
        var loggers = web.Services.GetRequiredService<ILoggerFactory>();
        var outputs = OutputParts.Build(options, settings, loggers);
        var keys = KeyParts.Build(options, settings, loggers);
        var tenants = TenantParts.Build(options, settings, keys, loggers);
        var ingest = IngestParts.Build(options, outputs, keys, tenants, clientCertificates, loggers);
        var telemetry = TelemetryParts.Build(options, settings, outputs, keys, tenants, ingest, connections, certificate, loggers);
        IReadOnlyList<OwnListener> OwnListeners() =>
            [.. listeners.Bound(), .. ingest.Plaintext?.Bound is { } tcp ? [OwnListener.For(tcp.Address, tcp.Port, "-listen-tcp-port")] : Array.Empty<OwnListener>()];
        RequestPipeline.Map(web, options, OwnListeners, connections, ingest, outputs, tenants, telemetry, loggers);
        // SIGHUP reloads what can be reloaded: the certificate pair under -cert; a routing file would join it here.
        IReloadable[] reloadable = certificate is null ? [] : [certificate];
        var reload = new ReloadLoop(reloadable, TimeSpan.FromSeconds(1), loggers.CreateLogger<ReloadLoop>());
        var signals = new ProcessSignals(reload, loggers.CreateLogger<ProcessSignals>());
        var app = new GatewayApp(web, options, settings, listeners, connections, outputs, keys, tenants, ingest, telemetry, certificate, reload, signals);
        if (options.DevMode && settings.Keys is null)
            app.LogDevMode();
        return app;
    }

    public async Task StartAsync(CancellationToken cancel = default)
    {
        // First, so a SIGHUP during a slow start (Consul, a spool replayed) is a reload, not an exit.
        _signals.Register();
        _reload.Start();
        if (ConsulKeys is not null)
            await ConsulKeys.StartAsync();
        await _tenants.StartAsync();
        Destinations.Start(_dropReportInterval);
        await _web.StartAsync(cancel);
        if (_ingest.Plaintext is { } plaintext)
        {
            plaintext.Start();
            LogPlaintextListening(plaintext.Endpoint.ToString(), _options.TcpTenant!);
            if (!plaintext.Endpoint.Address.Equals(System.Net.IPAddress.Loopback) && !plaintext.Endpoint.Address.Equals(System.Net.IPAddress.IPv6Loopback))
                LogExposed("Plaintext", plaintext.Endpoint.ToString());
        }
        _tenants.Register(Addresses, StatsAddress, _hostName);
        foreach (var address in Addresses)
            LogListening(address);
        LogAdminListening(AdminAddress);
        LogStatsListening(StatsAddress);
        if (!_options.ApiAddress.IsLoopback)
            LogExposed("Admin API", AdminAddress);
        if (!_options.StatAddress.IsLoopback)
            LogExposed("Stats", StatsAddress);
        if (OpenFileLimit.Read() is { } files && files < _options.MaxConnections + OpenFileLimit.Reserve)
            LogFewFiles(_options.MaxConnections, files, OpenFileLimit.Reserve);
        if (Spools is null && !_options.ConsoleOut)
            LogNoSpool(_options.OutgoingQueueCap);
        Readiness.ListenersUp();
        _telemetry.SelfMetrics?.Start();
        _telemetry.Summary?.Start();
        LogStarted(Destinations.Current.Length, Flags.DistributionName(_options.Distribution), _options.KeyPrefix ? "on" : "off");
    }

    /// <summary>Stops accepting (in-flight requests finish), then drains the queues for up to the drain timeout.</summary>
    public async Task StopAsync()
    {
        if (_stopped)
            return;
        _stopped = true;
        await _tenants.DeregisterAsync();
        await _reload.DisposeAsync();
        if (_telemetry.SelfMetrics is not null)
            await _telemetry.SelfMetrics.DisposeAsync();
        if (_telemetry.Summary is not null)
            await _telemetry.Summary.DisposeAsync();
        // Both listeners stop at once: HTTP requests finish, plaintext connections queue the lines they hold.
        await Task.WhenAll(_web.StopAsync(), _ingest.Plaintext?.StopAsync(_options.DrainTimeout) ?? Task.CompletedTask);
        long queued = Destinations.Current.Sum(d => d.QueuedPoints);
        LogDraining(queued, _options.DrainTimeout.TotalSeconds);
        await Destinations.DrainAsync(_options.DrainTimeout);
        if (Spools is not null)
            await Spools.DisposeAsync(); // fsync what the drain spooled
        await _tenants.DisposeAsync();
        if (ConsulKeys is not null)
            await ConsulKeys.DisposeAsync();
        LogStopped(Counters.LinesReceived, Counters.BatchesAccepted, Destinations.Current.Sum(d => d.Counters.Delivered), Destinations.Current.Sum(d => d.Counters.DroppedTotal));
    }

    /// <summary>Runs until SIGTERM or SIGINT, drains, and returns the process exit code.</summary>
    public async Task<int> RunAsync()
    {
        await StartAsync();
        var lifetime = _web.Services.GetRequiredService<IHostApplicationLifetime>();
        var stopping = new TaskCompletionSource();
        using (lifetime.ApplicationStopping.Register(() => stopping.TrySetResult()))
            await stopping.Task;
        await StopAsync();
        return 0;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        if (_ingest.Plaintext is { } plaintext)
            await plaintext.DisposeAsync();
        await _web.DisposeAsync();
        await Connections.DisposeAsync();
        _signals.Dispose(); // last: a SIGHUP during the drain must not end it
    }
}
