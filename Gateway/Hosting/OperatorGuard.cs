using System.Net;
using System.Text.Json;
using Microsoft.Net.Http.Headers;
using Polymur.Gateway.Configuration;
using Polymur.Gateway.Admin;

namespace Polymur.Gateway.Hosting;

/// <summary>
/// Guards the operator listeners against browsers and other local users. On the admin API:
/// <list type="bullet">
/// <item>the token (-api-token-file), when set, as <c>Authorization: Bearer</c>: else 401;</item>
/// <item>without a valid token, a <c>Host</c> that is a loopback name or the listener's own address: else 403,
/// which is what stops DNS rebinding (a page whose name resolves to 127.0.0.1 still sends its own name);</item>
/// <item>no cross-origin <c>Origin</c>: else 403;</item>
/// <item>mutations with <c>Content-Type: application/json</c>: else 415, since a browser sends a plain-text POST
/// cross-site without asking first. A DELETE has no body and may omit it (a browser must ask before a
/// cross-site DELETE, and nothing here ever says yes), but one that names another type is refused too.</item>
/// </list>
/// On the stats listener, the Origin rule, and the token for /stats and /metrics under -api-token-stats.
/// </summary>
internal sealed class OperatorGuard(SecretToken? token, bool tokenForStats)
{
    public Task Enforce(HttpContext context, RequestDelegate next)
    {
        var scope = ListenerScopes.Of(context);
        if (scope == ListenerScope.Admin)
            return GuardAdmin(context, next);
        if (scope == ListenerScope.Stats)
            return GuardStats(context, next);
        return next(context);
    }

    private Task GuardAdmin(HttpContext context, RequestDelegate next)
    {
        bool authenticated = token is not null && HasToken(context);
        if (token is not null && !authenticated)
            return Unauthorized(context);
        if (!authenticated && !IsOwnHost(context))
            return RefuseAsync(context, StatusCodes.Status403Forbidden, $"Host {context.Request.Host} is not this listener's address or a loopback name");
        if (IsCrossOrigin(context))
            return RefuseAsync(context, StatusCodes.Status403Forbidden, "cross-origin requests are refused");
        if (IsMutation(context.Request) && !IsJson(context.Request.ContentType))
            return RefuseAsync(context, StatusCodes.Status415UnsupportedMediaType, "send Content-Type: application/json");
        return next(context);
    }

    private Task GuardStats(HttpContext context, RequestDelegate next)
    {
        if (IsCrossOrigin(context))
            return RefuseAsync(context, StatusCodes.Status403Forbidden, "cross-origin requests are refused");
        string path = context.Request.Path.Value ?? "";
        if (tokenForStats && token is not null && path is "/stats" or "/metrics" && !HasToken(context))
            return Unauthorized(context);
        return next(context);
    }

    private bool HasToken(HttpContext context)
    {
        var values = context.Request.Headers.Authorization;
        if (values.Count != 1 || values[0] is not { } header || !header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            return false;
        return token!.Matches(header.AsSpan(7).Trim());
    }

    private static bool IsOwnHost(HttpContext context)
    {
        string host = context.Request.Host.Host;
        if (host.Length == 0 || host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
            return true;
        if (!IPAddress.TryParse(host.Trim('[', ']'), out var ip))
            return false;
        return IPAddress.IsLoopback(ip) || ip.Equals(context.Connection.LocalIpAddress);
    }

    private static bool IsCrossOrigin(HttpContext context)
    {
        var origins = context.Request.Headers.Origin;
        if (origins.Count == 0)
            return false;
        string expected = $"{context.Request.Scheme}://{context.Request.Host}";
        return origins.Count != 1 || !string.Equals(origins[0], expected, StringComparison.OrdinalIgnoreCase);
    }

    private static bool IsMutation(HttpRequest request)
    {
        string method = request.Method;
        if (HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method))
            return false;
        return !(HttpMethods.IsDelete(method) && request.ContentType is null);
    }

    private static bool IsJson(string? contentType) =>
        MediaTypeHeaderValue.TryParse(contentType, out var parsed) && parsed.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase);

    private static Task Unauthorized(HttpContext context)
    {
        context.Response.Headers.WWWAuthenticate = "Bearer";
        return RefuseAsync(context, StatusCodes.Status401Unauthorized, "missing or wrong token (Authorization: Bearer, see -api-token-file)");
    }

    private static async Task RefuseAsync(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        await JsonSerializer.SerializeAsync(context.Response.Body, new AdminError(message), AdminJsonContext.Default.AdminError, context.RequestAborted);
    }
}
