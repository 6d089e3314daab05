using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Hosting.Systemd;
using Polymur.Gateway.Configuration;
using Polymur.Gateway.Hosting.Logging;
using Polymur.Gateway.Ingest;

namespace Polymur.Gateway.Hosting;

/// <summary>
/// The web host: Kestrel's listeners and per-connection limits, logging, and systemd integration. Everything
/// a connection may hold is bounded here, before any request reaches the gateway's own code.
/// </summary>
internal static class WebHost
{
    private const int ConnectionReadBuffer = 64 * 1024, ConnectionWriteBuffer = 16 * 1024;

    /// <param name="certificate">The HTTPS listener's reloadable certificate, when -cert and -key are set.</param>
    public static WebApplication Build(GatewayOptions options, GatewayAppSettings settings, Listeners listeners, ConnectionLimit connections, ClientCertificates? clientCertificates, out ServingCertificate? certificate)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        ConfigureLogging(builder.Logging, options.LogFormat);
        settings.ConfigureLogging?.Invoke(builder.Logging);
        builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = options.DrainTimeout);
        builder.WebHost.UseKestrelHttpsConfiguration();
        // The socket transport's own buffers, per connection (defaults: 1 MiB in, 64 KiB out).
        builder.WebHost.UseSockets(s =>
        {
            s.MaxReadBufferSize = ConnectionReadBuffer;
            s.MaxWriteBufferSize = ConnectionWriteBuffer;
        });
        // Kestrel reads its options when it starts, after the certificate below is loaded.
        ServingCertificate? serving = null;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = options.MaxBodySize;
            LimitConnectionBuffers(kestrel.Limits);
            listeners.Open(kestrel, ListenerScope.Ingest, options.ListenAddress, options.HttpPort, HttpProtocols.Http1, limit: connections);
            // A polymur-proxy without a custom CA negotiates h2; with -cert it speaks HTTP/1.1.
            if (options.HttpsEnabled)
                listeners.Open(kestrel, ListenerScope.Ingest, options.ListenAddress, options.HttpsPort, HttpProtocols.Http1AndHttp2, l => l.UseHttps(new HttpsConnectionAdapterOptions
                {
                    // Asked at every handshake, so a reloaded certificate serves new connections at once.
                    ServerCertificateSelector = (_, _) => serving!.Current,
                    ClientCertificateMode = options.ClientAuth switch
                    {
                        ClientAuth.Require => ClientCertificateMode.RequireCertificate,
                        ClientAuth.Optional => ClientCertificateMode.AllowCertificate,
                        _ => ClientCertificateMode.NoCertificate,
                    },
                    // Checked here, where the chain the TLS stack built holds the intermediates the client sent.
                    // Under require a certificate that does not verify ends the handshake; under optional it is
                    // let through and counts as none (ClientCertificates.TenantOf finds what this check said).
                    ClientCertificateValidation = (certificate, chain, _) => clientCertificates!.Check(certificate, chain) || options.ClientAuth != ClientAuth.Require,
                    // TLS 1.2 and 1.3 only; ciphers follow the system's OpenSSL policy.
                    SslProtocols = System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13,
                }), connections);
            listeners.Open(kestrel, ListenerScope.Admin, options.ApiAddress);
            listeners.Open(kestrel, ListenerScope.Stats, options.StatAddress);
        });
        // Under systemd: journal-format logs, and READY=1 / STOPPING=1 through sd_notify. Inert elsewhere.
        builder.Services.AddSystemd();
        var web = builder.Build();
        if (options.HttpsEnabled)
            serving = new ServingCertificate(options.CertPath!, options.KeyPath!, web.Services.GetRequiredService<ILogger<ServingCertificate>>());
        certificate = serving;
        return web;
    }

    // What one connection may hold, whatever its client does: a client that sends faster than the gateway reads,
    // or never reads the answers, stops being read once these fill.
    private static void LimitConnectionBuffers(KestrelServerLimits limits)
    {
        limits.MaxRequestBufferSize = ConnectionReadBuffer;
        limits.MaxResponseBufferSize = ConnectionWriteBuffer;
        limits.Http2.MaxStreamsPerConnection = Http2Streams;
        limits.Http2.InitialStreamWindowSize = Http2StreamWindow;
        limits.Http2.InitialConnectionWindowSize = Http2ConnectionWindow;
    }

    // HTTP/2: streams of one connection must never wait for each other's body data. A stream whose request
    // waits (for its tenant's share, for memory, for a decode slot) does not read its body, and what the client
    // sent it stays in Kestrel, counted against the connection's window as well as its own. Kestrel gives
    // connection credit back only once more than half the window was read, so a stream that has read all it
    // got can be left without credit while the others' unread data plus that unreturned half fill the window:
    // with a 256 KiB connection window and 16 streams, one h2 client stalled every decode slot (issue 23, F5).
    // So the connection window is twice all the stream windows together: the others' unread data (at most
    // (streams - 1) x stream window) and the unreturned half can never fill it, and each stream is held back
    // only by its own window, which its own reads refill. What Kestrel holds per connection is then bounded by
    // streams x stream window = 16 x 64 KiB = 1 MiB of unread bodies (the connection window is only credit).
    // 16 streams, as before: h2load and curl open as many streams as they are told before the server's SETTINGS
    // arrive, and Kestrel resets those past the limit, so fewer would fail clients multiplexing 16 batches.
    // 64 KiB is the smallest window HTTP/2 allows; a stream's own reads refill it at memory speed.
    // A connection's bodies being read take at most 16 x -max-body-size of -max-batch-memory (inside it,
    // waited for up to -queue-wait), and its tenant's -tenant-max-inflight bounds them as well.
    private const int Http2Streams = 16;
    private const int Http2StreamWindow = 64 * 1024;
    private const int Http2ConnectionWindow = 2 * Http2Streams * Http2StreamWindow;

    private static void ConfigureLogging(ILoggingBuilder logging, LogFormat format)
    {
        logging.ClearProviders();
        // Logs go to stderr: stdout carries metric lines under -console-out.
        logging.AddConsole();
        logging.Services.AddSingleton<ConsoleFormatter>(new LineFormatter(journal: false));
        logging.Services.AddSingleton<ConsoleFormatter>(new LineFormatter(journal: true));
        logging.AddJsonConsole(o =>
        {
            o.UseUtcTimestamp = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
        });
        if (format == LogFormat.Auto)
            format = SystemdHelpers.IsSystemdService() ? LogFormat.Journal : LogFormat.Text;
        string formatter = format switch
        {
            LogFormat.Json => ConsoleFormatterNames.Json,
            LogFormat.Journal => LineFormatter.JournalName,
            _ => LineFormatter.TextName,
        };
        // After AddSystemd's own choice of formatter: this one is the gateway's.
        logging.Services.PostConfigure<ConsoleLoggerOptions>(o => o.FormatterName = formatter);
        logging.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        logging.SetMinimumLevel(LogLevel.Information);
        logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);
    }
}
