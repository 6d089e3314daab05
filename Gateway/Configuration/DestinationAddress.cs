using System.Net;

namespace Polymur.Gateway.Configuration;

/// <summary>
/// A downstream Graphite daemon: <c>host:port</c> or <c>host:port:instance</c> (IPv6 hosts in brackets), with
/// <c>tls://</c> in front for TLS. The instance only matters to hash-route, where it is part of the carbon_ch ring
/// label; the scheme is not part of the name, so it never moves a metric.
/// </summary>
public sealed record DestinationAddress(string Host, int Port, string? Instance, bool Tls = false)
{
    public const string TlsScheme = "tls://";

    /// <summary>The text an operator wrote, normalised, without the scheme: the key used by the admin API, the ring and logs.</summary>
    public string Name => Instance is null ? $"{HostText}:{Port}" : $"{HostText}:{Port}:{Instance}";

    /// <summary>The name with its scheme, as it would be written in -destinations.</summary>
    public string Uri => Tls ? TlsScheme + Name : Name;

    private string HostText => Host.Contains(':') ? $"[{Host}]" : Host;

    public override string ToString() => Name;

    public static bool TryParse(string text, out DestinationAddress? address, out string error)
    {
        address = null;
        text = text.Trim();
        bool tls = text.StartsWith(TlsScheme, StringComparison.OrdinalIgnoreCase);
        if (tls)
            text = text[TlsScheme.Length..];
        else if (text.Contains("://", StringComparison.Ordinal))
        {
            error = $"'{text}' has a scheme other than tls:// (plain TCP needs none)";
            return false;
        }
        string host;
        string rest;
        if (text.StartsWith('['))
        {
            int close = text.IndexOf(']');
            if (close < 0 || close + 1 >= text.Length || text[close + 1] != ':')
            {
                error = $"'{text}' is not host:port[:instance] (an IPv6 host is written [addr]:port)";
                return false;
            }
            host = text[1..close];
            rest = text[(close + 2)..];
        }
        else
        {
            int colon = text.IndexOf(':');
            if (colon <= 0)
            {
                error = $"'{text}' is not host:port[:instance]";
                return false;
            }
            host = text[..colon];
            rest = text[(colon + 1)..];
        }

        string portText = rest;
        string? instance = null;
        int sep = rest.IndexOf(':');
        if (sep >= 0)
        {
            portText = rest[..sep];
            instance = rest[(sep + 1)..];
            if (instance.Length == 0 || instance.Contains(':'))
            {
                error = $"'{text}' has an empty or malformed instance (host:port:instance)";
                return false;
            }
        }

        if (!int.TryParse(portText, System.Globalization.NumberStyles.None, null, out int port) || port is < 1 or > 65535)
        {
            error = $"'{text}' has no valid port (1-65535)";
            return false;
        }
        if (host.Length == 0 || host.Any(c => char.IsWhiteSpace(c) || c == '/' || c == ','))
        {
            error = $"'{text}' has no valid host";
            return false;
        }
        if (host.Contains(':') && !IPAddress.TryParse(host, out _))
        {
            error = $"'{text}' has a malformed IPv6 host";
            return false;
        }

        address = new DestinationAddress(host, port, instance, tls);
        error = "";
        return true;
    }
}
