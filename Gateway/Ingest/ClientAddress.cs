using Microsoft.AspNetCore.Http;

namespace Polymur.Gateway.Ingest;

/// <summary>
/// Who sent a request, for logs only: the peer address, and the X-Forwarded-For value when a load balancer
/// put one there. XFF is client-supplied, so it is never used to decide anything, and it is cleaned before
/// it reaches a log line.
/// </summary>
internal static class ClientAddress
{
    private const int MaxForwardedLength = 200;

    public static string Peer(HttpContext context) =>
        context.Connection.RemoteIpAddress is { } ip ? $"{ip}:{context.Connection.RemotePort}" : "unknown";

    /// <summary>The X-Forwarded-For value, printable ASCII only and cut short; "-" when absent.</summary>
    public static string Forwarded(HttpContext context)
    {
        string? value = context.Request.Headers["X-Forwarded-For"];
        if (string.IsNullOrEmpty(value))
            return "-";
        var clean = new char[Math.Min(value.Length, MaxForwardedLength)];
        for (int i = 0; i < clean.Length; i++)
            clean[i] = value[i] is >= ' ' and <= '~' ? value[i] : '?';
        return new string(clean);
    }
}
