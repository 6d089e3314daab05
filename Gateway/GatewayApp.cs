using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging.Console;
using Polymur.Gateway.Admin;
using Polymur.Gateway.Primitives;
using Polymur.Gateway.Configuration;
using Polymur.Gateway.Hosting;
using Polymur.Gateway.Ingest;
using Polymur.Gateway.Keys;
using Polymur.Gateway.Outputs;
using Polymur.Gateway.Routing;
using Polymur.Gateway.Spool;
using Polymur.Gateway.Telemetry;

namespace Polymur.Gateway;

/// <summary>What the host process provides, so tests can run the real gateway in-process.</summary>
public sealed class GatewayAppSettings
{
    /// <summary>Where -console-out writes lines.</summary>
    public Stream Stdout { get; init; } = Console.OpenStandardOutput();

    /// <summary>Replaces the key source (tests use a fixed key set; the app uses dev mode or Consul).</summary>
    public IKeyCache? Keys { get; init; }

    /// <summary>How to reach Consul when keys come from there (not in dev mode, and no <see cref="Keys"/>).</summary>
    public ConsulSettings? Consul { get; init; }

    public Action<ILoggingBuilder>? ConfigureLogging { get; init; }

    internal WriterOptions Writers { get; init; } = new();

    /// <summary>The host name that -metrics-flush series start with (sanitized).</summary>
    public string HostName { get; init; } = Environment.MachineName;

    public TimeSpan DropReportInterval { get; init; } = TimeSpan.FromSeconds(10);
}

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
    private bool _stopped;

    private readonly Listeners _listeners;

    private GatewayApp(WebApplication web, Listeners listeners, GatewayOptions options, GatewayAppSettings settings, DestinationSet destinations, IngestCounters counters, InflightBatches inflight)
    {
        _web = web;
        _listeners = listeners;
        _options = options;
        _dropReportInterval = settings.DropReportInterval;
        Destinations = destinations;
        Counters = counters;
        Inflight = inflight;
        _log = web.Services.GetRequiredService<ILogger<GatewayApp>>();
    }

    public DestinationSet Destinations { get; }

    public IngestCounters Counters { get; }

    public InflightBatches Inflight { get; }

    /// <summary>The key cache every request checks.</summary>
    public IKeyCache Keys { get; private init; } = null!;

    /// <summary>The Consul key source, when keys come from Consul.</summary>
    public ConsulKeySource? ConsulKeys { get; private init; }

    public StatsCollector Stats { get; private init; } = null!;

    public Readiness Readiness { get; private init; } = null!;

    private SelfMetrics? SelfMetrics { get; init; }

    internal ConnectionLimit Connections { get; private init; } = null!;

    internal SpoolSet? Spools { get; private init; }

    private SummaryLog? Summary { get; init; }

    /// <summary>The bound stats URL (/stats, /metrics, /healthz, /readyz).</summary>
    public string StatsAddress => _listeners.Urls(ListenerScope.Stats)[0];

    /// <summary>The bound ingest URLs (http:// and https://), with real ports when 0 was asked for.</summary>
    public IReadOnlyList<string> Addresses => _listeners.Urls(ListenerScope.Ingest);

    /// <summary>The bound admin API URL.</summary>
    public string AdminAddress => _listeners.Urls(ListenerScope.Admin)[0];

    public static GatewayApp Create(GatewayOptions options, GatewayAppSettings settings)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        ConfigureLogging(builder.Logging);
        settings.ConfigureLogging?.Invoke(builder.Logging);
        builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = options.DrainTimeout);
        builder.WebHost.UseKestrelHttpsConfiguration();
        // The socket transport's own buffers, per connection (defaults: 1 MiB in, 64 KiB out).
        builder.WebHost.UseSockets(s =>
        {
            s.MaxReadBufferSize = ConnectionReadBuffer;
            s.MaxWriteBufferSize = ConnectionWriteBuffer;
        });
        var certificate = options.HttpsEnabled ? X509Certificate2.CreateFromPemFile(options.CertPath!, options.KeyPath) : null;
        var listeners = new Listeners();
        var connections = new ConnectionLimit(options.MaxConnections, options.FirstRequestTimeout);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = options.MaxBodySize;
            LimitConnectionBuffers(kestrel.Limits);
            listeners.Open(kestrel, ListenerScope.Ingest, options.ListenAddress, options.HttpPort, HttpProtocols.Http1, limit: connections);
            // A polymur-proxy without a custom CA negotiates h2; with -cert it speaks HTTP/1.1.
            if (certificate is not null)
                listeners.Open(kestrel, ListenerScope.Ingest, options.ListenAddress, options.HttpsPort, HttpProtocols.Http1AndHttp2, l => l.UseHttps(new HttpsConnectionAdapterOptions
                {
                    ServerCertificate = certificate,
                    // TLS 1.2 and 1.3 only; ciphers follow the system's OpenSSL policy.
                    SslProtocols = System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13,
                }), connections);
            listeners.Open(kestrel, ListenerScope.Admin, options.ApiAddress);
            listeners.Open(kestrel, ListenerScope.Stats, options.StatAddress);
        });
        // Under systemd: journal-format logs, and READY=1 / STOPPING=1 through sd_notify. Inert elsewhere.
        builder.Services.AddSystemd();

        var web = builder.Build();
        var loggers = web.Services.GetRequiredService<ILoggerFactory>();
        var counters = new IngestCounters();
        var inflight = new InflightBatches(options.IncomingQueueCap);
        var buffers = new BufferPool();
        var spools = options.SpoolDir is null
            ? null
            : new SpoolSet(options.SpoolDir, options.SpoolMaxSize, new SpoolSettings { FsyncInterval = options.SpoolFsync, MaxRecordBytes = (int)options.MaxBatchSize + 1, Buffers = buffers, BufferLimit = options.MaxBatchMemory }, loggers.CreateLogger<SpoolSet>());
        var destinations = DestinationSet.Create(options, settings.Writers with { ReplayRate = options.SpoolReplayRate, ResendWindowBytes = spools is null ? 0 : WriterOptions.SpoolResendWindowBytes }, settings.Stdout, loggers, spools);
        spools?.FindOrphans(options.Destinations.Select(d => d.Name));
        ConsulKeySource? consulKeys = null;
        if (settings.Keys is null && !options.DevMode)
        {
            var consul = settings.Consul ?? throw new ArgumentException("keys come from Consul but no Consul settings were given");
            consulKeys = new ConsulKeySource(new ConsulKvClient(consul), loggers.CreateLogger<ConsulKeySource>(), ReservedKeyName(options, settings.HostName));
        }
        IKeyCache keys = settings.Keys ?? (IKeyCache?)consulKeys ?? StaticKeyCache.DevMode();
        var admission = new Admission(inflight, options.QueueWait);
        var tables = new RoutingTables(destinations, options.Distribution);
        IBatchRouter router = options.Distribution == Distribution.Broadcast ? new BroadcastRouter(tables) : new HashRouter(tables, buffers);
        var dispatcher = new BatchDispatcher(router, destinations, admission, inflight, buffers);
        var ingest = new IngestHandler(
            keys,
            new GzipBatchDecoder(buffers, options.MaxBatchSize, options.MaxConcurrentDecodes, options.MaxBatchMemory, options.QueueWait),
            buffers,
            dispatcher,
            new DecodeSlots(options.MaxConcurrentDecodes),
            counters,
            new IngestOptions(options.KeyPrefix, options.MaxBodySize, options.MaxBatchSize, options.MaxLineLength, options.QueueWait, options.MaxBatchMemory),
            loggers.CreateLogger<IngestHandler>());

        web.Use(connections.TrackRequest);
        web.Use(new UnhandledErrors(loggers.CreateLogger<UnhandledErrors>()).Enforce);
        web.UseRouting();
        web.Use(ExactPaths.Enforce);
        web.Use(ListenerScopes.Enforce);
        web.Use(new OperatorGuard(options.ApiToken, options.ApiTokenStats).Enforce);
        var ingestScope = new ListenerScopeMetadata(ListenerScope.Ingest);
        web.Map("/ping", ingest.PingAsync).WithMetadata(ingestScope);
        web.Map("/ingest", ingest.IngestAsync).WithMetadata(ingestScope);
        new AdminEndpoints(destinations, options.DrainTimeout).Map(web);
        var stats = new StatsCollector(
            counters,
            destinations,
            inflight,
            buffers,
            options.MaxBatchMemory,
            () => consulKeys?.Status ?? new KeySyncStatus(options.DevMode ? "dev-mode" : "static", keys.Count, true, null, null, null, 0),
            () => new ConnectionStats(connections.Open, connections.Max, connections.Evicted, connections.Refused, connections.TimedOut),
            () => spools is null ? null : new SpoolStats(spools.Budget.UsedBytes, spools.Budget.MaxBytes, [.. spools.Orphans]));
        var readiness = new Readiness(consulKeys is null ? null : () => consulKeys.FirstSync.IsCompleted, options.ReadyGrace);
        new StatsEndpoints(stats, readiness).Map(web);

        var app = new GatewayApp(web, listeners, options, settings, destinations, counters, inflight)
        {
            Spools = spools,
            Connections = connections,
            ConsulKeys = consulKeys,
            Keys = keys,
            Stats = stats,
            Readiness = readiness,
            SelfMetrics = options.MetricsFlushSeconds > 0
                ? new SelfMetrics(stats, dispatcher, buffers, counters, SelfMetrics.Root(options.MetricsPrefix, settings.HostName), TimeSpan.FromSeconds(options.MetricsFlushSeconds), loggers.CreateLogger<SelfMetrics>())
                : null,
            Summary = options.SummaryInterval > TimeSpan.Zero ? new SummaryLog(stats, options.SummaryInterval, loggers.CreateLogger<SummaryLog>()) : null,
        };
        if (options.DevMode && settings.Keys is null)
            app.LogDevMode();
        return app;
    }

    // Under -key-prefix every tenant writes below its own name, so the self-metrics are out of reach as long as
    // no tenant is named like their first segment.
    private static string? ReservedKeyName(GatewayOptions options, string hostName) =>
        options.KeyPrefix && options.MetricsFlushSeconds > 0 ? SelfMetrics.Root(options.MetricsPrefix, hostName).Split('.')[0] : null;

    private const int ConnectionReadBuffer = 64 * 1024, ConnectionWriteBuffer = 16 * 1024;

    // What one connection may hold, whatever its client does: a client that sends faster than the gateway reads,
    // or never reads the answers, stops being read once these fill. HTTP/2's windows are Kestrel's pre-7.0 ones
    // (today's are 1 MiB and 768 KiB per stream), which bounds what a stream can make the gateway buffer.
    private static void LimitConnectionBuffers(KestrelServerLimits limits)
    {
        limits.MaxRequestBufferSize = ConnectionReadBuffer;
        limits.MaxResponseBufferSize = ConnectionWriteBuffer;
        limits.Http2.MaxStreamsPerConnection = 16;
        limits.Http2.InitialConnectionWindowSize = 256 * 1024;
        limits.Http2.InitialStreamWindowSize = 192 * 1024;
    }

    private static void ConfigureLogging(ILoggingBuilder logging)
    {
        logging.ClearProviders();
        // Logs go to stderr: stdout carries metric lines under -console-out.
        logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.UseUtcTimestamp = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
        });
        logging.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        logging.SetMinimumLevel(LogLevel.Information);
        logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);
    }

    public async Task StartAsync(CancellationToken cancel = default)
    {
        if (ConsulKeys is not null)
            await ConsulKeys.StartAsync();
        Destinations.Start(_dropReportInterval);
        await _web.StartAsync(cancel);
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
        SelfMetrics?.Start();
        Summary?.Start();
        LogStarted(Destinations.Current.Length, _options.Distribution.ToString().ToLowerInvariant(), _options.KeyPrefix);
    }

    /// <summary>Stops accepting (in-flight requests finish), then drains the queues for up to the drain timeout.</summary>
    public async Task StopAsync()
    {
        if (_stopped)
            return;
        _stopped = true;
        if (SelfMetrics is not null)
            await SelfMetrics.DisposeAsync();
        if (Summary is not null)
            await Summary.DisposeAsync();
        await _web.StopAsync();
        long queued = Destinations.Current.Sum(d => d.QueuedPoints);
        LogDraining(queued, _options.DrainTimeout.TotalSeconds);
        await Destinations.DrainAsync(_options.DrainTimeout);
        if (Spools is not null)
            await Spools.DisposeAsync(); // fsync what the drain spooled
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
        await _web.DisposeAsync();
        await Connections.DisposeAsync();
    }
}
