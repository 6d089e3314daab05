using Polymur.Gateway.Consul;
using Polymur.Gateway.Hosting;
using Microsoft.Extensions.Logging;
using Polymur.Gateway.Configuration;
using Polymur.Gateway.Keys;
using Polymur.Gateway.Outputs;

namespace Polymur.Gateway.Tests.Support;

/// <summary>The real gateway, in-process, on 127.0.0.1 with kernel-chosen ports, sending to real sockets.</summary>
public sealed class TestGateway : IAsyncDisposable
{
    private TestGateway(GatewayApp app, LogCollector logs, MemoryStream stdout)
    {
        App = app;
        Logs = logs;
        Stdout = stdout;
    }

    public GatewayApp App { get; }

    public LogCollector Logs { get; }

    /// <summary>What -console-out wrote.</summary>
    public MemoryStream Stdout { get; }

    public string HttpAddress => App.Addresses.First(a => a.StartsWith("http://", StringComparison.Ordinal));

    public string HttpsAddress => App.Addresses.First(a => a.StartsWith("https://", StringComparison.Ordinal));

    /// <summary>
    /// Dev-mode defaults (key 123, named dev), fast reconnects; <paramref name="configure"/> adjusts the options.
    /// <paramref name="tenantClock"/> is the clock of the tenants' token buckets (a <see cref="ManualClock"/> holds them still).
    /// </summary>
    public static async Task<TestGateway> StartAsync(IEnumerable<TcpSink> sinks, Func<GatewayOptions, GatewayOptions>? configure = null, IKeyCache? keys = null, ConsulSettings? consul = null, TimeProvider? tenantClock = null)
    {
        var options = new GatewayOptions
        {
            ListenAddress = "127.0.0.1",
            HttpPort = 0,
            HttpsPort = 0,
            ApiAddress = new ListenEndpoint("127.0.0.1", 0),
            StatAddress = new ListenEndpoint("127.0.0.1", 0),
            DevMode = consul is null,
            DrainTimeout = TimeSpan.FromSeconds(5),
            QueueWait = TimeSpan.FromMilliseconds(300),
            Destinations = [.. sinks.Select(s => new DestinationAddress("127.0.0.1", s.Port, null))],
        };
        options = configure?.Invoke(options) ?? options;
        var logs = new LogCollector();
        var stdout = new MemoryStream();
        var app = GatewayApp.Create(options, new GatewayAppSettings
        {
            Stdout = Stream.Synchronized(stdout),
            Keys = keys,
            Consul = consul,
            ConfigureLogging = l =>
            {
                l.ClearProviders();
                l.AddProvider(logs);
                l.SetMinimumLevel(LogLevel.Debug);
            },
            Writers = new WriterOptions { ReconnectInitial = TimeSpan.FromMilliseconds(20), ReconnectMax = TimeSpan.FromMilliseconds(200) },
            DropReportInterval = TimeSpan.FromMilliseconds(200),
            HostName = "test-host.example.com",
            TenantClock = tenantClock ?? TimeProvider.System,
        });
        await app.StartAsync();
        return new TestGateway(app, logs, stdout);
    }

    public static Task<TestGateway> StartAsync(TcpSink sink, Func<GatewayOptions, GatewayOptions>? configure = null, IKeyCache? keys = null, ConsulSettings? consul = null, TimeProvider? tenantClock = null) =>
        StartAsync([sink], configure, keys, consul, tenantClock);

    public ProxyClient Client() => new(HttpAddress);

    public HttpClient AdminClient() => new() { BaseAddress = new Uri(App.AdminAddress) };

    public HttpClient StatsClient() => new() { BaseAddress = new Uri(App.StatsAddress) };

    public async ValueTask DisposeAsync() => await App.DisposeAsync();
}
