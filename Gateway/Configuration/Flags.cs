using System.Collections.Immutable;
using System.Globalization;

namespace Polymur.Gateway.Configuration;

/// <summary>Every flag the gateway takes, in help order. polymur-gateway's flags keep their names and defaults (README, flags).</summary>
internal static class Flags
{
    private static readonly GatewayOptions Defaults = new();

    // The -distribution values; hash-route is carbon_ch by another name.
    private static readonly (string Name, Distribution Value)[] Distributions =
    [
        ("broadcast", Distribution.Broadcast),
        ("hash-route", Distribution.CarbonCh),
        ("carbon_ch", Distribution.CarbonCh),
        ("fnv1a_ch", Distribution.Fnv1aCh),
        ("jump_fnv1a_ch", Distribution.JumpFnv1aCh),
    ];

    public static readonly ImmutableArray<FlagDefinition> All =
    [
        new() { Name = "api-addr", Kind = "string", Default = Defaults.ApiAddress.ToString(),
            Help = "Admin API listen address (host:port)",
            Apply = (o, v) => o with { ApiAddress = Endpoint(v) } },
        new() { Name = "api-token-file", Kind = "string", Default = "",
            Help = "File holding the bearer token the admin API requires (Authorization: Bearer); needed when -api-addr is not loopback",
            Hint = ValueHint.File,
            Apply = (o, v) => o with { ApiToken = v.Length == 0 ? null : TokenFile(v) } },
        new() { Name = "api-token-stats", Kind = "", Default = "",
            Help = "Require the -api-token-file token for /stats and /metrics too (/healthz and /readyz stay open for probes)",
            Apply = (o, v) => o with { ApiTokenStats = Bool(v) } },
        new() { Name = "cert", Kind = "string", Default = "",
            Help = "TLS certificate, PEM (HTTPS starts only with both -cert and -key)",
            Hint = ValueHint.File,
            Apply = (o, v) => o with { CertPath = NonEmptyOrNull(v) } },
        new() { Name = "client-auth", Kind = "string", Default = "none",
            Help = "Client certificates on the HTTPS listener: none, optional (a verified one names its tenant by its CN), require (no verified certificate, no handshake)",
            Choices = ["none", "optional", "require"],
            Apply = (o, v) => o with { ClientAuth = v switch { "none" => ClientAuth.None, "optional" => ClientAuth.Optional, "require" => ClientAuth.Require, _ => throw new FormatException("not none, optional or require") } } },
        new() { Name = "client-ca", Kind = "string", Default = "",
            Help = "PEM file of the CA certificates client certificates are verified against (with -client-auth)",
            Hint = ValueHint.File,
            Apply = (o, v) => o with { ClientCaPath = NonEmptyOrNull(v) } },
        new() { Name = "console-out", Kind = "", Default = "",
            Help = "Dump output to console (stdout) instead of the destinations",
            Apply = (o, v) => o with { ConsoleOut = Bool(v) } },
        new() { Name = "consul-addr", Kind = "string", Default = "",
            Help = "Consul HTTP address, host:port or https://host:port (empty: CONSUL_HTTP_ADDR, else 127.0.0.1:8500)",
            Apply = (o, v) => o with { ConsulAddress = NonEmptyOrNull(v) } },
        new() { Name = "consul-prefix", Kind = "string", Default = Defaults.ConsulPrefix,
            Help = "Consul KV prefix holding the API keys (<prefix><name> = key)",
            Apply = (o, v) => o with { ConsulPrefix = KvPrefix(v) } },
        new() { Name = "consul-register", Kind = "", Default = "",
            Help = "Register this gateway in Consul's catalog (service -consul-service, its ingest ports, an HTTP check on /healthz); removed at shutdown",
            Apply = (o, v) => o with { ConsulRegister = Bool(v) } },
        new() { Name = "consul-service", Kind = "string", Default = Defaults.ConsulService,
            Help = "Service name for -consul-register, and whose passing instances -tenant-limit-scope cluster counts",
            Apply = (o, v) => o with { ConsulService = ServiceName(v) } },
        new() { Name = "consul-sync", Kind = "duration", Default = ValueParsers.FormatDuration(Defaults.ConsulSync),
            Help = "Longest time between full key refreshes; changes arrive at once through blocking queries",
            Apply = (o, v) => o with { ConsulSync = PositiveDuration(v) } },
        new() { Name = "destination-ca", Kind = "string", Default = "",
            Help = "PEM file of the CA certificates tls:// destinations are verified against (empty: the system's store)",
            Hint = ValueHint.File,
            Apply = (o, v) => o with { DestinationCaPath = NonEmptyOrNull(v) } },
        new() { Name = "destination-timeout", Kind = "duration", Default = ValueParsers.FormatDuration(Defaults.DestinationTimeout),
            Help = "A destination that does not connect, or does not acknowledge what it was sent, for this long is declared down (its data spools or queues) and redialled; also its sockets' TCP_USER_TIMEOUT and keepalive. 10s as carbon-c-relay's TCP_USER_TIMEOUT (1s to 10m)",
            Apply = (o, v) => o with { DestinationTimeout = Duration(v) is { } d && d >= TimeSpan.FromSeconds(1) && d <= TimeSpan.FromMinutes(10) ? d : throw new FormatException("must be from 1s to 10m") } },
        new() { Name = "destinations", Kind = "string", Default = "",
            Help = "Comma-delimited list of [tls://]host:port[:instance] destinations",
            Apply = (o, v) => o with { Destinations = DestinationList(v) } },
        new() { Name = "dev-mode", Kind = "", Default = "",
            Help = "Dev mode: disables the Consul API key store; accepts only the key '123' (name 'dev')",
            Apply = (o, v) => o with { DevMode = Bool(v) } },
        new() { Name = "distribution", Kind = "string", Default = "broadcast",
            Help = "Destination distribution method: broadcast, hash-route (Graphite's carbon_ch), fnv1a_ch, jump_fnv1a_ch",
            Choices = [.. Distributions.Select(d => d.Name)],
            Apply = (o, v) => o with { Distribution = DistributionValue(v) } },
        new() { Name = "drain-timeout", Kind = "duration", Default = ValueParsers.FormatDuration(Defaults.DrainTimeout),
            Help = "On SIGTERM/SIGINT, how long to keep delivering queued points before exiting",
            Apply = (o, v) => o with { DrainTimeout = Duration(v) } },
        new() { Name = "first-request-timeout", Kind = "duration", Default = ValueParsers.FormatDuration(Defaults.FirstRequestTimeout),
            Help = "Close an ingest connection that has not sent a whole request this long after it opened",
            Apply = (o, v) => o with { FirstRequestTimeout = Duration(v) is { } d && d >= TimeSpan.FromMilliseconds(100) ? d : throw new FormatException("must be at least 100ms") } },
        new() { Name = "incoming-queue-cap", Kind = "int", Default = Int(Defaults.IncomingQueueCap),
            Help = "In-flight batch capacity: batches accepted but not yet written to every destination",
            Apply = (o, v) => o with { IncomingQueueCap = PositiveInt(v) } },
        new() { Name = "key", Kind = "string", Default = "",
            Help = "TLS private key, PEM",
            Hint = ValueHint.File,
            Apply = (o, v) => o with { KeyPath = NonEmptyOrNull(v) } },
        new() { Name = "key-prefix", Kind = "", Default = "",
            Help = "If enabled, prepends all metrics with the origin polymur-proxy API key's name",
            Apply = (o, v) => o with { KeyPrefix = Bool(v) } },
        new() { Name = "listen-addr", Kind = "string", Default = "",
            Help = "Polymur-gateway listen address (empty: all interfaces)",
            Apply = (o, v) => o with { ListenAddress = ListenHost(v) } },
        new() { Name = "listen-http-port", Kind = "string", Default = Int(Defaults.HttpPort),
            Help = "Polymur-gateway listen port (http)",
            Apply = (o, v) => o with { HttpPort = Port(v, Defaults.HttpPort) } },
        new() { Name = "listen-https-port", Kind = "string", Default = Int(Defaults.HttpsPort),
            Help = "Polymur-gateway listen port (https)",
            Apply = (o, v) => o with { HttpsPort = Port(v, Defaults.HttpsPort) } },
        new() { Name = "listen-tcp-addr", Kind = "string", Default = Defaults.TcpAddress,
            Help = "Address of the plaintext listener (-listen-tcp-port); it has no authentication, so it stays on loopback unless you say otherwise",
            Apply = (o, v) => o with { TcpAddress = TcpHost(v) } },
        new() { Name = "listen-tcp-port", Kind = "string", Default = "",
            Help = "Port for Graphite's plaintext line protocol from trusted senders, lines attributed to -tcp-tenant (empty: no plaintext listener; 0: any free port)",
            Apply = (o, v) => o with { TcpPort = v.Length == 0 ? null : Port(v, 0) } },
        new() { Name = "log-format", Kind = "string", Default = "",
            Help = "Log lines on stderr: text, json (one object a line, for log shippers) or journal (syslog priority prefix); empty: journal under systemd, text elsewhere",
            Choices = ["text", "json", "journal"],
            Apply = (o, v) => o with { LogFormat = v switch { "" => LogFormat.Auto, "text" => LogFormat.Text, "json" => LogFormat.Json, "journal" => LogFormat.Journal, _ => throw new FormatException("not text, json or journal") } } },
        new() { Name = "max-batch-size", Kind = "size", Default = ValueParsers.FormatSize(Defaults.MaxBatchSize),
            Help = "Largest batch after gunzip; larger is answered 413 (stops gzip bombs)",
            Apply = (o, v) => o with { MaxBatchSize = Size(v, max: int.MaxValue - 1) } },
        new() { Name = "max-batch-memory", Kind = "size", Default = ValueParsers.FormatSize(Defaults.MaxBatchMemory),
            Help = "Budget for all batch buffers held at once (inflating, queued, being written); past it requests wait up to -queue-wait, then get 503",
            Apply = (o, v) => o with { MaxBatchMemory = Size(v, max: long.MaxValue) } },
        new() { Name = "max-body-size", Kind = "size", Default = ValueParsers.FormatSize(Defaults.MaxBodySize),
            Help = "Largest request body as sent (compressed); larger is answered 413",
            Apply = (o, v) => o with { MaxBodySize = Size(v, max: long.MaxValue) } },
        new() { Name = "max-concurrent-decodes", Kind = "int", Default = "",
            Help = "Request bodies inflated at once (empty: 2 per core, at least 4); with -max-batch-size this bounds decode memory",
            Apply = (o, v) => o with { MaxConcurrentDecodes = v.Length == 0 ? Defaults.MaxConcurrentDecodes : PositiveInt(v) } },
        new() { Name = "max-connections", Kind = "int", Default = Int(Defaults.MaxConnections),
            Help = "Ingest connections open at once (HTTP and HTTPS); at the cap a new one closes the longest-idle, or is closed if all are busy",
            Apply = (o, v) => o with { MaxConnections = PositiveInt(v) } },
        new() { Name = "max-line-length", Kind = "size", Default = Int(Defaults.MaxLineLength),
            Help = "Longest metric line as forwarded (prefix included), at most 16384, where carbon-cache drops the connection; longer lines are dropped and counted",
            Apply = (o, v) => o with { MaxLineLength = (int)Size(v, max: Parsing.GraphiteLine.CarbonMaxLineLength) } },
        new() { Name = "metrics-flush", Kind = "int", Default = "0",
            Help = "Graphite flush interval for runtime metrics in seconds (0 is disabled)",
            Apply = (o, v) => o with { MetricsFlushSeconds = NonNegativeInt(v) } },
        new() { Name = "metrics-prefix", Kind = "string", Default = Defaults.MetricsPrefix,
            Help = "Path the -metrics-flush series start with ({host}: this host's name); with -key-prefix its first segment is refused as a key name",
            Apply = (o, v) => o with { MetricsPrefix = MetricsPrefixValue(v) } },
        new() { Name = "outgoing-queue-cap", Kind = "int", Default = Int(Defaults.OutgoingQueueCap),
            Help = "In-flight message queue capacity per destination (number of data points)",
            Apply = (o, v) => o with { OutgoingQueueCap = PositiveInt(v) } },
        new() { Name = "queue-wait", Kind = "duration", Default = ValueParsers.FormatDuration(Defaults.QueueWait),
            Help = "How long a batch waits for room in full queues before it is answered 503",
            Apply = (o, v) => o with { QueueWait = Duration(v) } },
        new() { Name = "ready-grace", Kind = "duration", Default = ValueParsers.FormatDuration(Defaults.ReadyGrace),
            Help = "How long /readyz waits for the first Consul key sync before reporting ready anyway",
            Apply = (o, v) => o with { ReadyGrace = Duration(v) } },
        new() { Name = "spool-dir", Kind = "string", Default = "",
            Help = "Directory for each destination's disk spool: what its queue cannot take is written there and replayed once it is back (empty: no spool)",
            Hint = ValueHint.Directory,
            Apply = (o, v) => o with { SpoolDir = NonEmptyOrNull(v) } },
        new() { Name = "spool-fsync", Kind = "duration", Default = ValueParsers.FormatDuration(Defaults.SpoolFsync),
            Help = "Longest time between two fsyncs of a spool file (0: fsync every write)",
            Apply = (o, v) => o with { SpoolFsync = Duration(v) } },
        new() { Name = "spool-max-size", Kind = "size", Default = ValueParsers.FormatSize(Defaults.SpoolMaxSize),
            Help = "Disk all spools together may take; past it, a batch that needs a spool gets 503 with `Retry-After` (at once for a down destination, after -queue-wait for a slow one)",
            Apply = (o, v) => o with { SpoolMaxSize = Size(v, max: long.MaxValue) } },
        new() { Name = "spool-replay-rate", Kind = "int", Default = Int(Defaults.SpoolReplayRate),
            Help = "Spooled points per second sent to a destination once it is back, beside live data",
            Apply = (o, v) => o with { SpoolReplayRate = PositiveInt(v) } },
        new() { Name = "stat-addr", Kind = "string", Default = Defaults.StatAddress.ToString(),
            Help = "Stats listen address (host:port)",
            Apply = (o, v) => o with { StatAddress = Endpoint(v) } },
        new() { Name = "summary-interval", Kind = "duration", Default = ValueParsers.FormatDuration(Defaults.SummaryInterval),
            Help = "How often to log a summary line (received, delivered, rate, non-empty queues); 0 turns it off",
            Apply = (o, v) => o with { SummaryInterval = Duration(v) } },
        new() { Name = "tcp-idle-timeout", Kind = "duration", Default = ValueParsers.FormatDuration(Defaults.TcpIdleTimeout),
            Help = "A plaintext connection that sends nothing this long is closed, an unfinished last line dropped (0: never)",
            Apply = (o, v) => o with { TcpIdleTimeout = Duration(v) } },
        new() { Name = "tcp-max-connections", Kind = "int", Default = Int(Defaults.TcpMaxConnections),
            Help = "Plaintext connections open at once (its own cap, apart from -max-connections); at it a new one closes the longest-idle one",
            Apply = (o, v) => o with { TcpMaxConnections = PositiveInt(v) } },
        new() { Name = "tcp-tenant", Kind = "string", Default = "",
            Help = "Key name the plaintext listener's lines belong to: their -key-prefix, limits and accounting (needed with -listen-tcp-port)",
            Apply = (o, v) => o with { TcpTenant = NonEmptyOrNull(v) } },
        new() { Name = "tenant-grace", Kind = "duration", Default = ValueParsers.FormatDuration(Defaults.TenantGrace),
            Help = "How long a tenant whose key left Consul keeps its series in /metrics, /stats and /tenants",
            Apply = (o, v) => o with { TenantGrace = Duration(v) } },
        new() { Name = "tenant-limit-scope", Kind = "string", Default = "instance",
            Help = "instance: each gateway enforces a tenant's whole limit; cluster: limit / N, N the passing -consul-service instances",
            Choices = ["instance", "cluster"],
            Apply = (o, v) => o with { TenantLimitScope = v switch { "instance" => LimitScope.Instance, "cluster" => LimitScope.Cluster, _ => throw new FormatException("not instance or cluster") } } },
        new() { Name = "tenant-max-inflight", Kind = "int", Default = "",
            Help = "In-flight batches one tenant may hold (being read, queued or written); past it that tenant's requests wait up to -queue-wait, then get 503 (empty: -incoming-queue-cap / 4)",
            Apply = (o, v) => o with { TenantMaxInflight = v.Length == 0 ? null : PositiveInt(v) } },
        new() { Name = "tenant-rate-limit", Kind = "float", Default = "0",
            Help = "Points per second (0.001 to 1e9; burst: one second's worth) for tenants with no limit in Consul; over it a batch gets 429 (0: none)",
            Apply = (o, v) => o with { TenantRateLimit = Rate(v) } },
    ];

    public static FlagDefinition? Find(string name)
    {
        foreach (var flag in All)
        {
            if (flag.Name == name)
                return flag;
        }
        return null;
    }

    private static string Int(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string? NonEmptyOrNull(string v) => v.Length == 0 ? null : v;

    private static bool Bool(string v) =>
        ValueParsers.TryParseBool(v, out bool b) ? b : throw new FormatException("not a boolean (true or false)");

    private static int PositiveInt(string v) =>
        int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0 ? n : throw new FormatException("not a positive whole number");

    private static int NonNegativeInt(string v) =>
        int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n : throw new FormatException("not a whole number of seconds (0 or more)");

    // An empty port means the default (deployed configurations pass empty values); anything else must be a port.
    private static int Port(string v, int fallback) =>
        v.Length == 0 ? fallback : ValueParsers.TryParsePort(v, out int p) ? p : throw new FormatException("not a port number (0-65535)");

    private static ListenEndpoint Endpoint(string v) =>
        ListenEndpoint.TryParse(v, out var e) ? e! : throw new FormatException("not a host:port listen address");

    private static string ListenHost(string v)
    {
        if (v.Length == 0 || v == "localhost" || System.Net.IPAddress.TryParse(v.Trim('[', ']'), out _))
            return v.Trim('[', ']');
        throw new FormatException("not an IP address or 'localhost' (empty means all interfaces)");
    }

    private static string TcpHost(string v) =>
        System.Net.IPAddress.TryParse(v.Trim('[', ']'), out var ip) ? ip.ToString() : throw new FormatException("not an IP address (0.0.0.0 or :: for all interfaces)");

    // Dot-separated segments of letters, digits, '_' and '-', or {host}: a path carbon stores as given.
    private static string MetricsPrefixValue(string v)
    {
        foreach (string segment in v.Split('.'))
        {
            if (segment != "{host}" && (segment.Length == 0 || !segment.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-')))
                throw new FormatException("not a metric path of letters, digits, '_', '-' and {host}, like {host}.polymur or _gateway.{host}");
        }
        return v;
    }

    private static SecretToken TokenFile(string path)
    {
        try
        {
            return SecretToken.Load(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FormatException($"cannot read the token file: {e.Message}");
        }
    }

    private static long Size(string v, long max) =>
        ValueParsers.TryParseSize(v, out long n) && n > 0 && n <= max ? n : throw new FormatException($"not a size in bytes between 1 and {max} (suffixes KiB, MiB, GiB)");

    private static TimeSpan PositiveDuration(string v) =>
        Duration(v) is { } d && d >= TimeSpan.FromSeconds(1) ? d : throw new FormatException("must be at least 1s");

    // Consul keys have no leading slash; the trailing one keeps "keys/" from matching "keysX".
    private static string KvPrefix(string v)
    {
        string p = v.Trim().TrimStart('/');
        if (p.Length == 0 || p.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
            throw new FormatException("not a Consul KV path like polymur/gateway/keys/");
        return p.EndsWith('/') ? p : p + "/";
    }

    // The range a limit in Consul has (TenantLimit.TryCheck): a default the gateway would refuse there is refused here.
    private static double Rate(string v) =>
        double.TryParse(v, NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out double r) && Tenants.TenantLimit.TryCheck(r, null, out _)
            ? r : throw new FormatException($"not a number of points per second: 0 (none) or {Tenants.TenantLimit.MinRate} to 1e9");

    // Consul service names are DNS labels: letters, digits and '-'.
    private static string ServiceName(string v) =>
        v.Length is > 0 and <= 63 && v.All(c => char.IsAsciiLetterOrDigit(c) || c == '-') && v[0] != '-' ? v : throw new FormatException("not a service name (letters, digits and '-', like polymur-gateway)");

    private static TimeSpan Duration(string v) =>
        ValueParsers.TryParseDuration(v, out var d) ? d : throw new FormatException("not a duration (Go syntax: 500ms, 10s, 1m)");

    private static Distribution DistributionValue(string v) =>
        Distributions.FirstOrDefault(d => d.Name == v) is { Name: not null } found ? found.Value
            : throw new FormatException($"unknown distribution (valid: {string.Join(", ", Distributions.Select(d => d.Name))})");

    /// <summary>The -distribution value that selects it, as log lines name it (carbon_ch, not its alias).</summary>
    public static string DistributionName(Distribution distribution) => Distributions.Last(d => d.Value == distribution).Name;

    private static ImmutableArray<DestinationAddress> DestinationList(string v)
    {
        var list = ImmutableArray.CreateBuilder<DestinationAddress>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var part in v.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!DestinationAddress.TryParse(part, out var d, out string error))
                throw new FormatException(error);
            if (!seen.Add(d!.Name))
                throw new FormatException($"'{d.Name}' is listed twice");
            list.Add(d);
        }
        return list.ToImmutable();
    }
}
