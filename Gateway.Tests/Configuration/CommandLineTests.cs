using Polymur.Gateway.Configuration;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Configuration;

public class CommandLineTests
{
    private static CommandLineResult Parse(string[] args, Dictionary<string, string>? env = null) =>
        CommandLine.Parse(args, name => env is not null && env.TryGetValue(name, out var v) ? v : null);

    [Test]
    [Arguments("-listen-http-port 8080")]
    [Arguments("-listen-http-port=8080")]
    [Arguments("--listen-http-port 8080")]
    [Arguments("--listen-http-port=8080")]
    public async Task Every_flag_spelling_works(string commandLine)
    {
        var result = Parse(commandLine.Split(' '));
        await Assert.That(result.Kind).IsEqualTo(CommandKind.Run);
        await Assert.That(result.Options!.HttpPort).IsEqualTo(8080);
    }

    [Test]
    public async Task Bare_booleans_do_not_take_the_next_argument()
    {
        var result = Parse(["-dev-mode", "-key-prefix", "--console-out", "-listen-http-port", "1"]);
        await Assert.That(result.Options!.DevMode).IsTrue();
        await Assert.That(result.Options.KeyPrefix).IsTrue();
        await Assert.That(result.Options.ConsoleOut).IsTrue();
        await Assert.That(Parse(["-dev-mode=false"]).Options!.DevMode).IsFalse();
    }

    [Test]
    public async Task Defaults_are_the_originals()
    {
        var o = Parse([]).Options!;
        await Assert.That(o.ListenAddress).IsEqualTo("");
        await Assert.That(o.HttpPort).IsEqualTo(80);
        await Assert.That(o.HttpsPort).IsEqualTo(443);
        await Assert.That(o.ApiAddress.ToString()).IsEqualTo("localhost:2030");
        await Assert.That(o.StatAddress.ToString()).IsEqualTo("localhost:2020");
        await Assert.That(o.IncomingQueueCap).IsEqualTo(32768);
        await Assert.That(o.OutgoingQueueCap).IsEqualTo(4096);
        await Assert.That(o.Distribution).IsEqualTo(Distribution.Broadcast);
        await Assert.That(o.MetricsFlushSeconds).IsEqualTo(0);
        await Assert.That(o.HttpsEnabled).IsFalse();
        await Assert.That(Parse(["-listen-http-port", ""]).Options!.HttpPort).IsEqualTo(80);
    }

    /// <summary>A valid, non-default value for every flag; each must be accepted from its env var.</summary>
    private static readonly string TokenFile = WriteTokenFile("0123456789abcdef0123456789abcdef\n");

    private static readonly TestCertificate Ca = new();

    private static string WriteTokenFile(string content)
    {
        string path = Path.Combine(Directory.CreateTempSubdirectory("pgw-token-").FullName, "token");
        File.WriteAllText(path, content);
        return path;
    }

    private static readonly Dictionary<string, (string Value, Func<GatewayOptions, object> Read, object Expected)> Samples = new()
    {
        ["api-addr"] = ("127.0.0.1:9030", o => o.ApiAddress.ToString(), "127.0.0.1:9030"),
        ["api-token-file"] = (TokenFile, o => o.ApiToken?.Matches("0123456789abcdef0123456789abcdef") == true, true),
        ["api-token-stats"] = ("true", o => o.ApiTokenStats, true),
        ["cert"] = ("/etc/hostname", o => o.CertPath!, "/etc/hostname"),
        ["client-auth"] = ("optional", o => o.ClientAuth, ClientAuth.Optional),
        ["client-ca"] = (Ca.CertPath, o => o.ClientCaPath!, Ca.CertPath),
        ["consul-addr"] = ("https://consul.internal:8501", o => o.ConsulAddress!, "https://consul.internal:8501"),
        ["consul-prefix"] = ("/team/keys", o => o.ConsulPrefix, "team/keys/"),
        ["consul-register"] = ("true", o => o.ConsulRegister, true),
        ["consul-service"] = ("metrics-gw", o => o.ConsulService, "metrics-gw"),
        ["consul-sync"] = ("2m", o => o.ConsulSync, TimeSpan.FromMinutes(2)),
        ["console-out"] = ("true", o => o.ConsoleOut, true),
        ["destination-ca"] = (Ca.CertPath, o => o.DestinationCaPath!, Ca.CertPath),
        ["destination-timeout"] = ("2500ms", o => o.DestinationTimeout, TimeSpan.FromMilliseconds(2500)),
        ["destinations"] = ("10.0.0.1:2003,10.0.0.2:2004:b", o => string.Join(",", o.Destinations), "10.0.0.1:2003,10.0.0.2:2004:b"),
        ["dev-mode"] = ("1", o => o.DevMode, true),
        ["distribution"] = ("jump_fnv1a_ch", o => o.Distribution, Distribution.JumpFnv1aCh),
        ["drain-timeout"] = ("1m30s", o => o.DrainTimeout, TimeSpan.FromSeconds(90)),
        ["first-request-timeout"] = ("2s", o => o.FirstRequestTimeout, TimeSpan.FromSeconds(2)),
        ["incoming-queue-cap"] = ("7", o => o.IncomingQueueCap, 7),
        ["key"] = ("/etc/hostname", o => o.KeyPath!, "/etc/hostname"),
        ["key-prefix"] = ("T", o => o.KeyPrefix, true),
        ["listen-addr"] = ("127.0.0.1", o => o.ListenAddress, "127.0.0.1"),
        ["listen-http-port"] = ("8080", o => o.HttpPort, 8080),
        ["listen-https-port"] = ("8443", o => o.HttpsPort, 8443),
        ["listen-tcp-addr"] = ("::1", o => o.TcpAddress, "::1"),
        ["listen-tcp-port"] = ("2003", o => o.TcpPort!, 2003),
        ["log-format"] = ("json", o => o.LogFormat, LogFormat.Json),
        ["max-batch-size"] = ("32MiB", o => o.MaxBatchSize, 32L << 20),
        ["max-batch-memory"] = ("1GiB", o => o.MaxBatchMemory, 1L << 30),
        ["max-body-size"] = ("1MiB", o => o.MaxBodySize, 1L << 20),
        ["max-concurrent-decodes"] = ("3", o => o.MaxConcurrentDecodes, 3),
        ["max-connections"] = ("50", o => o.MaxConnections, 50),
        ["max-line-length"] = ("1KiB", o => o.MaxLineLength, 1024),
        ["metrics-flush"] = ("10", o => o.MetricsFlushSeconds, 10),
        ["metrics-prefix"] = ("_gateway.{host}", o => o.MetricsPrefix, "_gateway.{host}"),
        ["outgoing-queue-cap"] = ("100", o => o.OutgoingQueueCap, 100),
        ["queue-wait"] = ("250ms", o => o.QueueWait, TimeSpan.FromMilliseconds(250)),
        ["ready-grace"] = ("45s", o => o.ReadyGrace, TimeSpan.FromSeconds(45)),
        ["summary-interval"] = ("0", o => o.SummaryInterval, TimeSpan.Zero),
        ["spool-dir"] = ("/tmp", o => o.SpoolDir!, "/tmp"),
        ["spool-fsync"] = ("0", o => o.SpoolFsync, TimeSpan.Zero),
        ["spool-max-size"] = ("1GiB", o => o.SpoolMaxSize, 1L << 30),
        ["spool-replay-rate"] = ("5000", o => o.SpoolReplayRate, 5000),
        ["stat-addr"] = ("[::1]:9020", o => o.StatAddress.ToString(), "[::1]:9020"),
        ["tcp-idle-timeout"] = ("30s", o => o.TcpIdleTimeout, TimeSpan.FromSeconds(30)),
        ["tcp-max-connections"] = ("64", o => o.TcpMaxConnections, 64),
        ["tcp-tenant"] = ("edge", o => o.TcpTenant!, "edge"),
        ["tenant-grace"] = ("1h", o => o.TenantGrace, TimeSpan.FromHours(1)),
        ["tenant-limit-scope"] = ("cluster", o => o.TenantLimitScope, LimitScope.Cluster),
        ["tenant-max-inflight"] = ("64", o => o.TenantMaxInflight!, 64),
        ["tenant-rate-limit"] = ("2500.5", o => o.TenantRateLimit, 2500.5),
    };

    [Test]
    public async Task Every_flag_is_read_from_its_env_var_and_the_command_line_wins()
    {
        await Assert.That(Samples.Keys.Order().SequenceEqual(Flags.All.Select(f => f.Name).Order())).IsTrue();
        foreach (var flag in Flags.All)
        {
            var (value, read, expected) = Samples[flag.Name];
            var env = new Dictionary<string, string> { [flag.EnvVar] = value };
            if (flag.Name is "cert" or "key")
                env["POLYMUR_GW_" + (flag.Name == "cert" ? "KEY" : "CERT")] = "/etc/hostname";
            if (flag.Name == "api-token-stats")
                env["POLYMUR_GW_API_TOKEN_FILE"] = TokenFile;
            if (flag.Name == "tenant-limit-scope")
                env["POLYMUR_GW_CONSUL_REGISTER"] = "true";
            if (flag.Name is "listen-tcp-port" or "tcp-tenant")
            {
                env["POLYMUR_GW_LISTEN_TCP_PORT"] = flag.Name == "listen-tcp-port" ? value : "2003";
                env["POLYMUR_GW_TCP_TENANT"] = flag.Name == "tcp-tenant" ? value : "edge";
            }
            if (flag.Name is "client-auth" or "client-ca")
            {
                env["POLYMUR_GW_CLIENT_AUTH"] = flag.Name == "client-auth" ? value : "require";
                env["POLYMUR_GW_CLIENT_CA"] = Ca.CertPath;
                env["POLYMUR_GW_CERT"] = Ca.CertPath;
                env["POLYMUR_GW_KEY"] = Ca.KeyPath;
            }
            var result = Parse([], env);
            await Assert.That(result.Kind).IsEqualTo(CommandKind.Run).Because($"{flag.EnvVar}={value}: {result.Error}");
            await Assert.That(read(result.Options!)).IsEqualTo(expected).Because(flag.EnvVar);
            await Assert.That(flag.EnvVar).IsEqualTo("POLYMUR_GW_" + flag.Name.ToUpperInvariant().Replace('-', '_'));
        }
        var both = Parse(["-listen-http-port", "9000"], new() { ["POLYMUR_GW_LISTEN_HTTP_PORT"] = "8000" });
        await Assert.That(both.Options!.HttpPort).IsEqualTo(9000);
    }

    [Test]
    [Arguments(new[] { "-listen-http-port", "http" }, "-listen-http-port", "POLYMUR_GW_LISTEN_HTTP_PORT")]
    [Arguments(new[] { "-listen-https-port", "70000" }, "-listen-https-port", "POLYMUR_GW_LISTEN_HTTPS_PORT")]
    [Arguments(new[] { "-distribution", "round-robin" }, "-distribution", "POLYMUR_GW_DISTRIBUTION")]
    [Arguments(new[] { "-tenant-limit-scope", "global" }, "-tenant-limit-scope", "POLYMUR_GW_TENANT_LIMIT_SCOPE")]
    [Arguments(new[] { "-tenant-limit-scope", "cluster" }, "-consul-register", "POLYMUR_GW_CONSUL_REGISTER")]
    [Arguments(new[] { "-tenant-rate-limit=-5" }, "-tenant-rate-limit", "POLYMUR_GW_TENANT_RATE_LIMIT")]
    [Arguments(new[] { "-tenant-rate-limit", "0.0000000000001" }, "-tenant-rate-limit", "POLYMUR_GW_TENANT_RATE_LIMIT")]
    [Arguments(new[] { "-tenant-rate-limit", "2000000000" }, "-tenant-rate-limit", "POLYMUR_GW_TENANT_RATE_LIMIT")]
    [Arguments(new[] { "-tenant-max-inflight", "0" }, "-tenant-max-inflight", "POLYMUR_GW_TENANT_MAX_INFLIGHT")]
    [Arguments(new[] { "-consul-service", "polymur gateway" }, "-consul-service", "POLYMUR_GW_CONSUL_SERVICE")]
    [Arguments(new[] { "-destinations", "10.0.0.1" }, "-destinations", "POLYMUR_GW_DESTINATIONS")]
    [Arguments(new[] { "-destinations", "tls://10.0.0.1" }, "-destinations", "POLYMUR_GW_DESTINATIONS")]
    [Arguments(new[] { "-destinations", "tcp://10.0.0.1:2003" }, "-destinations", "POLYMUR_GW_DESTINATIONS")]
    [Arguments(new[] { "-client-auth", "require" }, "-client-ca", "POLYMUR_GW_CLIENT_CA")]
    [Arguments(new[] { "-log-format", "xml" }, "-log-format", "POLYMUR_GW_LOG_FORMAT")]
    [Arguments(new[] { "-listen-tcp-port", "2003" }, "-tcp-tenant", "POLYMUR_GW_TCP_TENANT")]
    [Arguments(new[] { "-listen-tcp-port", "2003", "-tcp-tenant", "edge.a" }, "-tcp-tenant", "POLYMUR_GW_TCP_TENANT")]
    [Arguments(new[] { "-listen-tcp-port", "2003", "-tcp-tenant", "_edge" }, "-tcp-tenant", "POLYMUR_GW_TCP_TENANT")]
    [Arguments(new[] { "-tcp-tenant", "edge" }, "-listen-tcp-port", "POLYMUR_GW_LISTEN_TCP_PORT")]
    [Arguments(new[] { "-listen-tcp-port", "2003", "-tcp-tenant", "edge", "-listen-tcp-addr", "localhost" }, "-listen-tcp-addr", "POLYMUR_GW_LISTEN_TCP_ADDR")]
    [Arguments(new[] { "-listen-tcp-port", "8080", "-tcp-tenant", "edge", "-listen-http-port", "8080" }, "-listen-tcp-port", "POLYMUR_GW_LISTEN_TCP_PORT")]
    [Arguments(new[] { "-client-auth", "sometimes" }, "-client-auth", "POLYMUR_GW_CLIENT_AUTH")]
    [Arguments(new[] { "-client-ca", "/etc/hostname", "-client-auth", "require" }, "-client-ca", "POLYMUR_GW_CLIENT_CA")]
    [Arguments(new[] { "-destination-ca", "/etc/hostname" }, "-destination-ca", "POLYMUR_GW_DESTINATION_CA")]
    [Arguments(new[] { "-destination-ca", "/nonexistent/ca.pem" }, "-destination-ca", "POLYMUR_GW_DESTINATION_CA")]
    [Arguments(new[] { "-destinations", "10.0.0.1:2003,10.0.0.1:2003" }, "-destinations", "POLYMUR_GW_DESTINATIONS")]
    [Arguments(new[] { "-destinations", "10.0.0.1:2003:" }, "-destinations", "POLYMUR_GW_DESTINATIONS")]
    [Arguments(new[] { "-cert", "/etc/hostname" }, "-cert", "POLYMUR_GW_KEY")]
    [Arguments(new[] { "-key", "/etc/hostname" }, "-key", "POLYMUR_GW_CERT")]
    [Arguments(new[] { "-cert", "/nonexistent.pem", "-key", "/etc/hostname" }, "-cert", "POLYMUR_GW_CERT")]
    [Arguments(new[] { "-incoming-queue-cap", "0" }, "-incoming-queue-cap", "POLYMUR_GW_INCOMING_QUEUE_CAP")]
    [Arguments(new[] { "-max-batch-size", "lots" }, "-max-batch-size", "POLYMUR_GW_MAX_BATCH_SIZE")]
    [Arguments(new[] { "-drain-timeout", "10" }, "-drain-timeout", "POLYMUR_GW_DRAIN_TIMEOUT")]
    [Arguments(new[] { "-destination-timeout", "0s" }, "-destination-timeout", "POLYMUR_GW_DESTINATION_TIMEOUT")]
    [Arguments(new[] { "-destination-timeout", "500ms" }, "-destination-timeout", "POLYMUR_GW_DESTINATION_TIMEOUT")]
    [Arguments(new[] { "-destination-timeout", "1h" }, "-destination-timeout", "POLYMUR_GW_DESTINATION_TIMEOUT")]
    [Arguments(new[] { "-dev-mode=maybe" }, "-dev-mode", "POLYMUR_GW_DEV_MODE")]
    [Arguments(new[] { "-api-addr", "nowhere" }, "-api-addr", "POLYMUR_GW_API_ADDR")]
    [Arguments(new[] { "-api-addr", "0.0.0.0:2030" }, "-api-token-file", "POLYMUR_GW_API_TOKEN_FILE")]
    [Arguments(new[] { "-api-addr", ":2030" }, "-api-addr", "POLYMUR_GW_API_ADDR")]
    [Arguments(new[] { "-api-token-file", "/nonexistent/token" }, "-api-token-file", "POLYMUR_GW_API_TOKEN_FILE")]
    [Arguments(new[] { "-api-token-stats" }, "-api-token-file", "POLYMUR_GW_API_TOKEN_STATS")]
    [Arguments(new[] { "-max-batch-memory", "64MiB" }, "-max-batch-memory", "POLYMUR_GW_MAX_BATCH_SIZE")]
    [Arguments(new[] { "-spool-dir", "/nonexistent/spool" }, "-spool-dir", "POLYMUR_GW_SPOOL_DIR")]
    [Arguments(new[] { "-spool-dir", "/etc/hostname" }, "-spool-dir", "POLYMUR_GW_SPOOL_DIR")]
    [Arguments(new[] { "-spool-dir", "/proc" }, "-spool-dir", "POLYMUR_GW_SPOOL_DIR")]
    [Arguments(new[] { "-metrics-prefix", "a..b" }, "-metrics-prefix", "POLYMUR_GW_METRICS_PREFIX")]
    [Arguments(new[] { "-metrics-prefix", "a b.{host}" }, "-metrics-prefix", "POLYMUR_GW_METRICS_PREFIX")]
    [Arguments(new[] { "-listen-addr", "not an ip" }, "-listen-addr", "POLYMUR_GW_LISTEN_ADDR")]
    [Arguments(new[] { "-metrics-flush" }, "-metrics-flush", "POLYMUR_GW_METRICS_FLUSH")]
    [Arguments(new[] { "-consul-sync", "100ms" }, "-consul-sync", "POLYMUR_GW_CONSUL_SYNC")]
    [Arguments(new[] { "-consul-prefix", "/" }, "-consul-prefix", "POLYMUR_GW_CONSUL_PREFIX")]
    public async Task Bad_values_name_the_flag_and_its_env_var(string[] args, string flag, string env)
    {
        var result = Parse(args);
        await Assert.That(result.Kind).IsEqualTo(CommandKind.Error);
        await Assert.That(result.Error!).Contains(flag);
        await Assert.That(result.Error!).Contains(env);
        await Assert.That(result.Error!).DoesNotContain("\n");
    }

    [Test]
    public async Task A_short_token_is_refused_and_an_exposed_api_with_a_token_starts()
    {
        var shortToken = Parse(["-api-token-file", WriteTokenFile("secret\n")]);
        var exposed = Parse(["-api-addr", "0.0.0.0:2030", "-api-token-file", TokenFile]);

        await Assert.That(shortToken.Error!).Contains("at least 16 characters");
        await Assert.That(shortToken.Error!).DoesNotContain("secret");
        await Assert.That(exposed.Kind).IsEqualTo(CommandKind.Run);
        await Assert.That(exposed.Options!.ToString()).DoesNotContain("0123456789abcdef");
    }

    [Test]
    public async Task Env_values_that_do_not_parse_are_refused_not_ignored()
    {
        var result = Parse([], new() { ["POLYMUR_GW_OUTGOING_QUEUE_CAP"] = "lots" });
        await Assert.That(result.Kind).IsEqualTo(CommandKind.Error);
        await Assert.That(result.Error!).StartsWith("invalid value \"lots\" for POLYMUR_GW_OUTGOING_QUEUE_CAP");
    }

    [Test]
    public async Task Unknown_flags_are_errors()
    {
        var result = Parse(["-listen-port", "80"]);
        await Assert.That(result.Kind).IsEqualTo(CommandKind.Error);
        await Assert.That(result.Error!).Contains("unknown flag -listen-port");
    }

    [Test]
    public async Task Help_lists_every_flag_with_its_default_and_env_var()
    {
        await Assert.That(Parse(["-h"]).Kind).IsEqualTo(CommandKind.Help);
        await Assert.That(Parse(["--help"]).Kind).IsEqualTo(CommandKind.Help);
        string help = CommandLine.HelpText();
        foreach (var flag in Flags.All)
        {
            await Assert.That(help).Contains($"  -{flag.Name}");
            await Assert.That(help).Contains($"[{flag.EnvVar}]");
            if (flag.Default.Length > 0)
                await Assert.That(help).Contains($"(default \"{flag.Default}\")");
        }
        await Assert.That(help).Contains("-api-addr string\n        Admin API listen address (host:port) [POLYMUR_GW_API_ADDR] (default \"localhost:2030\")");
    }

    [Test]
    [Arguments("500ms", 500)]
    [Arguments("10s", 10_000)]
    [Arguments("1m30s", 90_000)]
    [Arguments("1.5h", 5_400_000)]
    public async Task Go_durations(string text, double ms)
    {
        await Assert.That(ValueParsers.TryParseDuration(text, out var d)).IsTrue();
        await Assert.That(d.TotalMilliseconds).IsEqualTo(ms);
    }

    [Test]
    [Arguments("[::1]:2003:a", "::1", 2003, "a")]
    [Arguments("carbon.example:2003", "carbon.example", 2003, null)]
    [Arguments(" 10.0.0.1:2004:cache-b ", "10.0.0.1", 2004, "cache-b")]
    public async Task Destinations_parse(string text, string host, int port, string? instance)
    {
        await Assert.That(DestinationAddress.TryParse(text, out var d, out _)).IsTrue();
        await Assert.That(d).IsEqualTo(new DestinationAddress(host, port, instance));
    }
}
