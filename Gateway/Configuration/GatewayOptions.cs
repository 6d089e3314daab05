using System.Collections.Immutable;

namespace Polymur.Gateway.Configuration;

/// <summary>How lines are spread over the destinations.</summary>
public enum Distribution
{
    /// <summary>Every line to every destination.</summary>
    Broadcast,

    /// <summary>One destination per metric on Graphite's carbon_ch ring (what -distribution hash-route has always meant).</summary>
    CarbonCh,

    /// <summary>carbon-c-relay's fnv1a_ch ring.</summary>
    Fnv1aCh,

    /// <summary>carbon-c-relay's jump_fnv1a_ch (jump consistent hash).</summary>
    JumpFnv1aCh,
}

/// <summary>Whether the HTTPS listener asks for client certificates.</summary>
public enum ClientAuth
{
    None,

    /// <summary>A verified certificate names its tenant; an unverified one counts as none.</summary>
    Optional,

    /// <summary>Only clients with a verified certificate complete the handshake.</summary>
    Require,
}

/// <summary>How log lines are written to stderr.</summary>
public enum LogFormat
{
    /// <summary>Journal under systemd, text elsewhere.</summary>
    Auto,
    Text,
    Json,
    Journal,
}

/// <summary>Whether a tenant's limit holds for each gateway, or for all of them together.</summary>
public enum LimitScope
{
    Instance,

    /// <summary>Each of N passing gateways in Consul's catalog enforces limit ÷ N.</summary>
    Cluster,
}

/// <summary>
/// Everything the gateway was told at start-up, validated once. Immutable: the running gateway never
/// re-reads flags or the environment. Defaults keep deployed configurations working (README, flags); every limit has one.
/// </summary>
public sealed record GatewayOptions
{
    public string ListenAddress { get; init; } = "";
    public int HttpPort { get; init; } = 80;
    public int HttpsPort { get; init; } = 443;
    public string? CertPath { get; init; }
    public string? KeyPath { get; init; }
    public ListenEndpoint ApiAddress { get; init; } = new("localhost", 2030);
    public ListenEndpoint StatAddress { get; init; } = new("localhost", 2020);

    /// <summary>-api-token-file: the bearer token the admin API requires; null means none (loopback only).</summary>
    public SecretToken? ApiToken { get; init; }

    /// <summary>-api-token-stats: /stats and /metrics require the token too.</summary>
    public bool ApiTokenStats { get; init; }
    public ImmutableArray<DestinationAddress> Destinations { get; init; } = [];

    /// <summary>PEM roots for tls:// destinations; null: the system's store.</summary>
    public string? DestinationCaPath { get; init; }
    public Distribution Distribution { get; init; } = Distribution.Broadcast;
    public int IncomingQueueCap { get; init; } = 32768;
    public int OutgoingQueueCap { get; init; } = 4096;
    public int MetricsFlushSeconds { get; init; }

    /// <summary>Where -metrics-flush series go; <c>{host}</c> is the host name as one path segment.</summary>
    public string MetricsPrefix { get; init; } = "{host}.polymur";
    public bool ConsoleOut { get; init; }
    public bool DevMode { get; init; }
    public bool KeyPrefix { get; init; }

    /// <summary>Largest request body accepted, as sent (compressed).</summary>
    public long MaxBodySize { get; init; } = 16L << 20;

    /// <summary>Largest batch once gunzipped. Enforced while inflating: this is what stops a gzip bomb.</summary>
    public long MaxBatchSize { get; init; } = 64L << 20;

    /// <summary>
    /// How many request bodies may be inflated at once. With -max-batch-size this bounds the decode buffers'
    /// memory (at most this many batches of that size); more requests wait their turn.
    /// </summary>
    public int MaxConcurrentDecodes { get; init; } = Math.Max(4, 2 * Environment.ProcessorCount);

    /// <summary>
    /// The budget for every batch buffer in use at once: being inflated, queued, or being written. A request
    /// that needs more waits up to -queue-wait for batches to be delivered, then gets 503.
    /// </summary>
    public long MaxBatchMemory { get; init; } = 256L << 20;

    /// <summary>-spool-dir: where each destination's spool lives; null turns spooling off.</summary>
    public string? SpoolDir { get; init; }

    /// <summary>The disk all spools together may take.</summary>
    public long SpoolMaxSize { get; init; } = 4L << 30;

    /// <summary>Spooled points per second a connected destination is sent beside live data.</summary>
    public int SpoolReplayRate { get; init; } = 100_000;

    /// <summary>The longest time between two fsyncs of a spool; zero syncs every write.</summary>
    public TimeSpan SpoolFsync { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Ingest connections open at once (HTTP and HTTPS together); at the cap the longest-idle one is closed.</summary>
    public int MaxConnections { get; init; } = 1024;

    /// <summary>A connection that has not sent a whole request this long after it opened is closed.</summary>
    public TimeSpan FirstRequestTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Longest line accepted; longer lines are dropped and counted as invalid.</summary>
    public int MaxLineLength { get; init; } = 8192;

    /// <summary>-consul-addr; null means CONSUL_HTTP_ADDR, then 127.0.0.1:8500.</summary>
    public string? ConsulAddress { get; init; }

    /// <summary>Where the keys live in Consul KV; always ends in '/' so it does not match "keysX".</summary>
    public string ConsulPrefix { get; init; } = "polymur/gateway/keys/";

    /// <summary>The longest time between two full reads of the keys (the blocking query's wait).</summary>
    public TimeSpan ConsulSync { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a request waits for queue room before it is answered 503.</summary>
    public TimeSpan QueueWait { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>In-flight batches one tenant may hold; null: a quarter of <see cref="IncomingQueueCap"/>.</summary>
    public int? TenantMaxInflight { get; init; }

    /// <summary>Points per second for a tenant with no limit in Consul; 0: none.</summary>
    public double TenantRateLimit { get; init; }

    public LimitScope TenantLimitScope { get; init; } = LimitScope.Instance;

    /// <summary>How long a tenant whose key was removed keeps its series.</summary>
    public TimeSpan TenantGrace { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Register this gateway in Consul's catalog (with a /healthz check) while it runs.</summary>
    public bool ConsulRegister { get; init; }

    public string ConsulService { get; init; } = "polymur-gateway";

    /// <summary>How often the summary line is logged; zero turns it off.</summary>
    public TimeSpan SummaryInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Outside dev mode, /readyz waits this long for the first key sync before it says ready anyway.</summary>
    public TimeSpan ReadyGrace { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// -destination-timeout: the connect timeout, each destination socket's TCP_USER_TIMEOUT and keepalive, and how
    /// long acknowledged bytes may stand still with data outstanding before the destination is declared down.
    /// </summary>
    public TimeSpan DestinationTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long SIGTERM waits for queued points to reach the destinations.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>PEM roots client certificates are verified against (-client-ca).</summary>
    public string? ClientCaPath { get; init; }

    public ClientAuth ClientAuth { get; init; } = ClientAuth.None;

    /// <summary>-listen-tcp-port: Graphite's plaintext protocol; null when not listening (0 picks a free port).</summary>
    public int? TcpPort { get; init; }

    /// <summary>Loopback unless asked: the plaintext listener has no authentication.</summary>
    public string TcpAddress { get; init; } = "127.0.0.1";

    /// <summary>The key name the plaintext listener's lines are attributed to.</summary>
    public string? TcpTenant { get; init; }

    public int TcpMaxConnections { get; init; } = 512;

    /// <summary>A plaintext connection silent this long is closed (0: never).</summary>
    public TimeSpan TcpIdleTimeout { get; init; } = TimeSpan.FromMinutes(5);

    public LogFormat LogFormat { get; init; } = LogFormat.Auto;

    public bool HttpsEnabled => CertPath is not null && KeyPath is not null;
}
