using Polymur.Gateway.Configuration;

namespace Polymur.Gateway.Top;

/// <summary>
/// <c>polymur-gateway top [--once] [-stat-addr host:port] [-api-token-file FILE]</c>, with the gateway's own
/// variables as defaults, so on the gateway's host it needs no arguments.
/// </summary>
internal sealed record TopOptions(Uri Stats, string? Token, bool Once)
{
    public const string Usage = "usage: polymur-gateway top [--once] [-stat-addr host:port] [-api-token-file FILE]\n";

    public static TopOptions? Parse(IReadOnlyList<string> args, Func<string, string?> env, out string? error)
    {
        string address = env("POLYMUR_GW_STAT_ADDR") is { Length: > 0 } a ? a : "localhost:2020";
        string? tokenFile = env("POLYMUR_GW_API_TOKEN_FILE") is { Length: > 0 } t ? t : null;
        bool once = false;
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i].TrimStart('-');
            string? value = null;
            int eq = arg.IndexOf('=');
            if (eq >= 0)
            {
                value = arg[(eq + 1)..];
                arg = arg[..eq];
            }
            switch (arg)
            {
                case "once":
                    once = true;
                    break;
                case "stat-addr" or "api-token-file":
                    value ??= i + 1 < args.Count ? args[++i] : null;
                    if (value is null)
                    {
                        error = $"-{arg} needs a value";
                        return null;
                    }
                    if (arg == "stat-addr")
                        address = value;
                    else
                        tokenFile = value;
                    break;
                default:
                    error = $"unknown argument {args[i]}";
                    return null;
            }
        }
        if (!ListenEndpoint.TryParse(address, out var endpoint))
        {
            error = $"-stat-addr {address}: not a host:port address";
            return null;
        }
        string? token = null;
        if (tokenFile is not null)
        {
            try
            {
                token = Primitives.BoundedFile.ReadText(tokenFile, Primitives.BoundedFile.MaxTokenBytes).Trim();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                error = $"-api-token-file {tokenFile}: {e.Message}";
                return null;
            }
        }
        string host = endpoint!.Host is "" or "0.0.0.0" ? "127.0.0.1" : endpoint.Host is "::" ? "::1" : endpoint.Host;
        error = null;
        return new TopOptions(new Uri($"http://{(host.Contains(':') ? $"[{host}]" : host)}:{endpoint.Port}/stats"), token, once);
    }
}
