using Polymur.Gateway.Configuration;

namespace Polymur.Gateway.Consul;

/// <summary>
/// Where and how to reach Consul, from -consul-* flags and Consul's own conventional environment
/// (CONSUL_HTTP_ADDR, CONSUL_HTTP_TOKEN, CONSUL_HTTP_TOKEN_FILE, CONSUL_HTTP_SSL, CONSUL_HTTP_SSL_VERIFY,
/// CONSUL_CACERT, CONSUL_CLIENT_CERT, CONSUL_CLIENT_KEY), so the gateway and the key tool connect exactly
/// as the consul CLI would.
/// </summary>
public sealed record ConsulSettings(
    Uri Address,
    string? Token,
    bool VerifyTls,
    string? CaCertPath,
    string? ClientCertPath,
    string? ClientKeyPath,
    string Prefix,
    TimeSpan SyncInterval)
{
    public const string DefaultAddress = "127.0.0.1:8500";

    /// <summary>Resolves the settings; a bad value is an error naming its variable, never a silent default.</summary>
    public static bool TryResolve(GatewayOptions options, Func<string, string?> getEnv, out ConsulSettings? settings, out string error)
    {
        settings = null;
        string raw = options.ConsulAddress ?? NonEmpty(getEnv("CONSUL_HTTP_ADDR")) ?? DefaultAddress;
        string source = options.ConsulAddress is not null ? "-consul-addr (POLYMUR_GW_CONSUL_ADDR)" : "CONSUL_HTTP_ADDR";

        bool? sslFlag = null;
        if (NonEmpty(getEnv("CONSUL_HTTP_SSL")) is { } ssl)
        {
            if (!ValueParsers.TryParseBool(ssl, out bool b))
                return Fail($"CONSUL_HTTP_SSL=\"{ssl}\" is not a boolean", out error);
            sslFlag = b;
        }
        if (raw.StartsWith("unix://", StringComparison.OrdinalIgnoreCase))
            return Fail($"{source}: unix sockets are not supported, use host:port", out error);
        string withScheme = raw.Contains("://", StringComparison.Ordinal) ? raw : (sslFlag == true ? "https://" : "http://") + raw;
        if (!Uri.TryCreate(withScheme, UriKind.Absolute, out var address) || address.Scheme is not ("http" or "https") || address.Host.Length == 0)
            return Fail($"{source}=\"{raw}\" is not a Consul address (host:port or https://host:port)", out error);
        address = new UriBuilder(address) { Path = "/" }.Uri;

        bool verify = true;
        if (NonEmpty(getEnv("CONSUL_HTTP_SSL_VERIFY")) is { } v && !ValueParsers.TryParseBool(v, out verify))
            return Fail($"CONSUL_HTTP_SSL_VERIFY=\"{v}\" is not a boolean", out error);

        string? token = NonEmpty(getEnv("CONSUL_HTTP_TOKEN"));
        if (token is null && NonEmpty(getEnv("CONSUL_HTTP_TOKEN_FILE")) is { } tokenFile)
        {
            try
            {
                token = NonEmpty(Primitives.BoundedFile.ReadText(tokenFile, Primitives.BoundedFile.MaxTokenBytes).Trim());
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return Fail($"CONSUL_HTTP_TOKEN_FILE: cannot read {tokenFile}: {e.Message}", out error);
            }
        }

        string? ca = NonEmpty(getEnv("CONSUL_CACERT"));
        string? cert = NonEmpty(getEnv("CONSUL_CLIENT_CERT"));
        string? key = NonEmpty(getEnv("CONSUL_CLIENT_KEY"));
        foreach (var (name, path) in new[] { ("CONSUL_CACERT", ca), ("CONSUL_CLIENT_CERT", cert), ("CONSUL_CLIENT_KEY", key) })
        {
            // Read here as the client will read it: a FIFO or a device is refused now, with its name, not hung on later.
            if (path is not null && Primitives.BoundedFile.TryRead(path, out string problem) is null)
                return Fail(problem == "file not found" ? $"{name}: file not found: {path}" : $"{name} {path}: {problem}", out error);
        }
        if ((cert is null) != (key is null))
            return Fail("CONSUL_CLIENT_CERT and CONSUL_CLIENT_KEY go together: set both or neither", out error);

        settings = new ConsulSettings(address, token, verify, ca, cert, key, options.ConsulPrefix, options.ConsulSync);
        error = "";
        return true;
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;

    private static bool Fail(string message, out string error)
    {
        error = message;
        return false;
    }
}
