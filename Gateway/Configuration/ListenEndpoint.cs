using System.Net;

namespace Polymur.Gateway.Configuration;

/// <summary>An address a listener binds to. An empty host means every interface.</summary>
public sealed record ListenEndpoint(string Host, int Port)
{
    public override string ToString() => Host.Length == 0 ? $":{Port}" : Host.Contains(':') ? $"[{Host}]:{Port}" : $"{Host}:{Port}";

    /// <summary>True for addresses only this machine can reach, the safe default for admin and stats.</summary>
    public bool IsLoopback => Host == "localhost" || (IPAddress.TryParse(Host, out var ip) && IPAddress.IsLoopback(ip));

    /// <summary>Parses <c>host:port</c>, <c>[v6]:port</c> or <c>:port</c>; port 0 asks the kernel for a free one.</summary>
    public static bool TryParse(string text, out ListenEndpoint? endpoint)
    {
        endpoint = null;
        int colon = text.LastIndexOf(':');
        if (colon < 0)
            return false;
        string host = text[..colon];
        if (host.StartsWith('[') && host.EndsWith(']'))
            host = host[1..^1];
        if (!ValueParsers.TryParsePort(text[(colon + 1)..], out int port))
            return false;
        if (host.Contains(':') && !IPAddress.TryParse(host, out _))
            return false;
        endpoint = new ListenEndpoint(host, port);
        return true;
    }
}
