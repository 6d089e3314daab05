using System.Text;
using Polymur.Gateway.Keys;
using Polymur.Gateway.Primitives;

namespace Polymur.Gateway.Configuration;

/// <summary>What the command line asked for.</summary>
internal enum CommandKind
{
    Run,
    Help,

    /// <summary>The flag and env table as Markdown, for the README.</summary>
    HelpEnv,

    /// <summary>A commented environment file listing every variable, for /etc/default and edge VMs.</summary>
    EnvFile,

    /// <summary>A man page: polymur-gateway(8), or pgw-key(8) with --man=pgw-key.</summary>
    Man,

    /// <summary>The bash completion script.</summary>
    Completion,
    Version,
    Error,
}

/// <param name="Topic">For <see cref="CommandKind.Man"/>: which page (null: polymur-gateway).</param>
internal sealed record CommandLineResult(CommandKind Kind, GatewayOptions? Options, string? Error, IReadOnlyList<string> Positionals, string? Topic = null);

/// <summary>
/// Flags first, then <c>POLYMUR_GW_*</c> for anything the command line did not set. Accepts <c>-flag value</c>,
/// <c>-flag=value</c>, <c>--flag value</c> and bare booleans, as Go's flag package does; unlike the
/// original, a value that does not parse is an error naming the flag and its env var.
/// </summary>
internal static class CommandLine
{
    public const int UsageExitCode = 2;

    public static CommandLineResult Parse(IReadOnlyList<string> args, Func<string, string?> getEnv)
    {
        var fromArgs = new Dictionary<string, string>(StringComparer.Ordinal);
        var positionals = new List<string>();
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            if (arg == "--")
            {
                positionals.AddRange(args.Skip(i + 1));
                break;
            }
            if (arg.Length < 2 || arg[0] != '-' || positionals.Count > 0)
            {
                positionals.Add(arg);
                continue;
            }
            string body = arg[1] == '-' ? arg[2..] : arg[1..];
            string name = body;
            string? value = null;
            int eq = body.IndexOf('=');
            if (eq >= 0)
            {
                name = body[..eq];
                value = body[(eq + 1)..];
            }
            if (name is "h" or "help")
                return new(CommandKind.Help, null, null, positionals);
            if (name == "help-env")
                return new(CommandKind.HelpEnv, null, null, positionals);
            if (name == "env-file")
                return new(CommandKind.EnvFile, null, null, positionals);
            if (name == "man")
                return value is null or "polymur-gateway" or "pgw-key" ? new(CommandKind.Man, null, null, positionals, value) : Fail("--man takes polymur-gateway or pgw-key");
            if (name == "completion")
                return new(CommandKind.Completion, null, null, positionals);
            if (name == "version")
                return new(CommandKind.Version, null, null, positionals);
            var flag = Flags.Find(name);
            if (flag is null)
                return Fail($"unknown flag -{name} (see -help)");
            if (value is null)
            {
                if (flag.IsBoolean)
                    value = "true";
                else if (i + 1 < args.Count)
                    value = args[++i];
                else
                    return Fail($"flag -{name} needs a value [{flag.EnvVar}]");
            }
            fromArgs[name] = value;
        }

        var options = new GatewayOptions();
        foreach (var flag in Flags.All)
        {
            bool fromCommandLine = fromArgs.TryGetValue(flag.Name, out string? raw);
            if (!fromCommandLine)
                raw = getEnv(flag.EnvVar);
            if (raw is null)
                continue;
            try
            {
                options = flag.Apply(options, raw);
            }
            catch (FormatException e)
            {
                string source = fromCommandLine ? $"-{flag.Name}" : flag.EnvVar;
                return Fail($"invalid value \"{raw}\" for {source} (-{flag.Name} / {flag.EnvVar}): {e.Message}");
            }
        }

        string? problem = Validate(options);
        return problem is null ? new(CommandKind.Run, options, null, positionals) : Fail(problem);

        CommandLineResult Fail(string message) => new(CommandKind.Error, null, message, positionals);
    }

    /// <summary>Rules that span flags. Each message names every flag involved and its env var.</summary>
    private static string? Validate(GatewayOptions o)
    {
        if ((o.CertPath is null) != (o.KeyPath is null))
            return o.CertPath is null
                ? "-key (POLYMUR_GW_KEY) is set but -cert (POLYMUR_GW_CERT) is not: HTTPS needs both"
                : "-cert (POLYMUR_GW_CERT) is set but -key (POLYMUR_GW_KEY) is not: HTTPS needs both";
        if (o.CertPath is not null && FileProblem(o.CertPath) is { } cert)
            return cert == NotFound ? $"-cert (POLYMUR_GW_CERT): file not found: {o.CertPath}" : $"-cert (POLYMUR_GW_CERT) {o.CertPath}: {cert}";
        if (o.KeyPath is not null && FileProblem(o.KeyPath) is { } key)
            return key == NotFound ? $"-key (POLYMUR_GW_KEY): file not found: {o.KeyPath}" : $"-key (POLYMUR_GW_KEY) {o.KeyPath}: {key}";
        if (o.HttpsEnabled && o.HttpPort != 0 && o.HttpPort == o.HttpsPort)
            return "-listen-http-port (POLYMUR_GW_LISTEN_HTTP_PORT) and -listen-https-port (POLYMUR_GW_LISTEN_HTTPS_PORT) are the same port";
        if (!o.ApiAddress.IsLoopback && o.ApiToken is null)
            return $"-api-addr (POLYMUR_GW_API_ADDR) {o.ApiAddress} is reachable from other hosts: set -api-token-file (POLYMUR_GW_API_TOKEN_FILE), or bind it to localhost";
        if (o.ApiTokenStats && o.ApiToken is null)
            return "-api-token-stats (POLYMUR_GW_API_TOKEN_STATS) needs a token: set -api-token-file (POLYMUR_GW_API_TOKEN_FILE)";
        if (o.SpoolDir is not null && SpoolDirProblem(o.SpoolDir) is { } spool)
            return $"-spool-dir (POLYMUR_GW_SPOOL_DIR) {o.SpoolDir}: {spool}";
        if (o.MaxBatchMemory <= o.MaxBatchSize)
            return "-max-batch-memory (POLYMUR_GW_MAX_BATCH_MEMORY) must be larger than -max-batch-size (POLYMUR_GW_MAX_BATCH_SIZE), or the largest batch could never be taken";
        if (o.MaxLineLength > o.MaxBatchSize)
            return "-max-line-length (POLYMUR_GW_MAX_LINE_LENGTH) is larger than -max-batch-size (POLYMUR_GW_MAX_BATCH_SIZE)";
        if (o.TcpPort is not null && o.TcpTenant is null)
            return "-listen-tcp-port (POLYMUR_GW_LISTEN_TCP_PORT) needs -tcp-tenant (POLYMUR_GW_TCP_TENANT): the key name its lines belong to";
        if (o.TcpTenant is not null && o.TcpPort is null)
            return "-tcp-tenant (POLYMUR_GW_TCP_TENANT) is set but -listen-tcp-port (POLYMUR_GW_LISTEN_TCP_PORT) is not";
        if (o.TcpTenant is not null && !KeyNames.IsValid(o.TcpTenant))
            return $"-tcp-tenant (POLYMUR_GW_TCP_TENANT) \"{o.TcpTenant}\" is not a valid key name: {KeyNames.Rule}";
        if (o.TcpPort is int tcp && tcp != 0 && (tcp == o.HttpPort || (o.HttpsEnabled && tcp == o.HttpsPort)))
            return $"-listen-tcp-port (POLYMUR_GW_LISTEN_TCP_PORT) {tcp} is also an HTTP or HTTPS port";
        if (o.ClientAuth != ClientAuth.None && o.ClientCaPath is null)
            return $"-client-auth (POLYMUR_GW_CLIENT_AUTH) {o.ClientAuth.ToString().ToLowerInvariant()} needs -client-ca (POLYMUR_GW_CLIENT_CA): the CA client certificates are verified against";
        if (o.ClientCaPath is not null && o.ClientAuth == ClientAuth.None)
            return "-client-ca (POLYMUR_GW_CLIENT_CA) is set but -client-auth (POLYMUR_GW_CLIENT_AUTH) is none: say optional or require";
        if (o.ClientCaPath is not null && PemCertificateProblem(o.ClientCaPath) is { } clientCa)
            return $"-client-ca (POLYMUR_GW_CLIENT_CA) {o.ClientCaPath}: {clientCa}";
        if (o.ClientAuth != ClientAuth.None && !o.HttpsEnabled)
            return "-client-auth (POLYMUR_GW_CLIENT_AUTH) applies to the HTTPS listener: set -cert (POLYMUR_GW_CERT) and -key (POLYMUR_GW_KEY)";
        if (o.DestinationCaPath is not null && PemCertificateProblem(o.DestinationCaPath) is { } ca)
            return $"-destination-ca (POLYMUR_GW_DESTINATION_CA) {o.DestinationCaPath}: {ca}";
        if (o.TenantLimitScope == LimitScope.Cluster && !o.ConsulRegister)
            return "-tenant-limit-scope (POLYMUR_GW_TENANT_LIMIT_SCOPE) cluster counts the gateways registered in Consul: set -consul-register (POLYMUR_GW_CONSUL_REGISTER) too";
        var own = LoopCheck.Configured(o);
        foreach (var destination in o.Destinations)
        {
            // Synchronous at start: a name's lookup is bounded by LoopCheck.ResolveTimeout.
            if (LoopCheck.ProblemAsync(destination, own, CancellationToken.None).GetAwaiter().GetResult() is { } loop)
                return $"-destinations (POLYMUR_GW_DESTINATIONS) {loop}";
        }
        return null;
    }

    private const string NotFound = "file not found";

    // Missing, not a regular file (a FIFO would hang the start, /dev/zero would fill the memory), or too big.
    private static string? FileProblem(string path)
    {
        BoundedFile.TryRead(path, out string error);
        return error.Length == 0 ? null : error;
    }

    // Missing, unreadable, not a regular file, or without one PEM certificate in it.
    private static string? PemCertificateProblem(string path)
    {
        if (BoundedFile.TryRead(path, out string error) is not { } bytes)
            return error;
        try
        {
            var certificates = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection();
            certificates.ImportFromPem(System.Text.Encoding.UTF8.GetString(bytes));
            return certificates.Count == 0 ? "no PEM certificate in it" : null;
        }
        catch (System.Security.Cryptography.CryptographicException e)
        {
            return $"not a PEM certificate file: {e.Message}";
        }
    }

    // Missing, not a directory, or not writable (a read-only mount refuses even root): found at start, not at the
    // first outage.
    private static string? SpoolDirProblem(string path)
    {
        if (!Directory.Exists(path))
            return "no such directory";
        string probe = Path.Combine(path, $".polymur-gateway-probe-{Environment.ProcessId}");
        try
        {
            File.WriteAllBytes(probe, [0]);
            File.Delete(probe);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"not writable ({e.Message})";
        }
    }

    /// <summary>Every flag and env var as a Markdown table: the README's table, checked against this by a test.</summary>
    public static string EnvTable()
    {
        var sb = new StringBuilder();
        sb.Append("| Flag | Environment variable | Default | Meaning |\n");
        sb.Append("| --- | --- | --- | --- |\n");
        foreach (var flag in Flags.All)
        {
            string def = flag.IsBoolean ? "`false`" : flag.Default.Length == 0 ? "(none)" : $"`{flag.Default}`";
            sb.Append($"| `-{flag.Name}` | `{flag.EnvVar}` | {def} | {flag.Help.Replace("|", "\\|")} |\n");
        }
        return sb.ToString();
    }

    /// <summary>
    /// Every variable the gateway reads, commented out with its default: the .deb's /etc/default/polymur-gateway
    /// and a starting point on an edge VM. Generated from the flag table, so it cannot drift from -h.
    /// </summary>
    public static string EnvFileText()
    {
        var sb = new StringBuilder();
        sb.Append("# polymur-gateway environment. Uncomment and set what you need; a command-line flag wins over its variable.\n");
        sb.Append("# Values are read as flags are: a value that does not parse stops the gateway with a clear error.\n\n");
        foreach (var flag in Flags.All)
        {
            sb.Append("# ").Append(flag.Help).Append('\n');
            sb.Append('#').Append(flag.EnvVar).Append('=').Append(flag.IsBoolean ? "false" : flag.Default).Append("\n\n");
        }
        sb.Append("# Consul, read as the consul CLI reads it (used unless POLYMUR_GW_DEV_MODE=true).\n");
        sb.Append("# Address: host:port, or https://host:port.\n#CONSUL_HTTP_ADDR=127.0.0.1:8500\n");
        sb.Append("# ACL token, or a file holding it.\n#CONSUL_HTTP_TOKEN=\n#CONSUL_HTTP_TOKEN_FILE=\n");
        sb.Append("# true: a bare host:port means https.\n#CONSUL_HTTP_SSL=false\n");
        sb.Append("# false skips certificate checks (tests only).\n#CONSUL_HTTP_SSL_VERIFY=true\n");
        sb.Append("# PEM CA, and a client certificate and key for verify_incoming.\n#CONSUL_CACERT=\n#CONSUL_CLIENT_CERT=\n#CONSUL_CLIENT_KEY=\n");
        return sb.ToString();
    }

    /// <summary>The help text, in the layout of Go's flag package that the seed README shows.</summary>
    public static string HelpText()
    {
        var sb = new StringBuilder();
        sb.Append("Usage of polymur-gateway:\n");
        sb.Append("  polymur-gateway [flags]\n\n");
        foreach (var flag in Flags.All)
        {
            sb.Append("  -").Append(flag.Name);
            if (!flag.IsBoolean)
                sb.Append(' ').Append(flag.Kind);
            sb.Append("\n        ").Append(flag.Help).Append(" [").Append(flag.EnvVar).Append(']');
            if (flag.Default.Length > 0)
                sb.Append(" (default \"").Append(flag.Default).Append("\")");
            sb.Append('\n');
        }
        sb.Append("\nEvery flag can also be set by its environment variable; the command line wins.\n");
        return sb.ToString();
    }
}
