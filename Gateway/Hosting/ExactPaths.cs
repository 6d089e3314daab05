using Microsoft.AspNetCore.Routing.Patterns;

namespace Polymur.Gateway.Hosting;

/// <summary>
/// Routes match as written: ASP.NET Core's routing ignores case, so <c>/INGEST</c> would reach /ingest, and
/// it would take <c>/ingest/</c> too. Go's mux, which real proxies were written against, does neither, and
/// neither does the gateway: runs after routing and answers 404 when a literal segment differs. A 404 also
/// closes an HTTP/1.x connection: no client of the gateway asks for an unknown path, and one that pipelines
/// thousands of such requests without reading the answers would otherwise keep a core busy answering them.
/// </summary>
internal static class ExactPaths
{
    public static Task Enforce(HttpContext context, RequestDelegate next)
    {
        string path = context.Request.Path.Value ?? "";
        if (context.GetEndpoint() is RouteEndpoint endpoint && Matches(endpoint.RoutePattern, path))
            return next(context);
        context.SetEndpoint(null);
        context.Response.StatusCode = StatusCodes.Status404NotFound;
        if (context.Request.Protocol is "HTTP/1.1" or "HTTP/1.0")
            context.Response.Headers.Connection = "close";
        return Task.CompletedTask;
    }

    private static bool Matches(RoutePattern pattern, string path)
    {
        if (path.Length > 1 && path.EndsWith('/'))
            return false;
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (segments.Length != pattern.PathSegments.Count)
            return false;
        for (int i = 0; i < segments.Length; i++)
        {
            var parts = pattern.PathSegments[i].Parts;
            if (parts.Count == 1 && parts[0] is RoutePatternLiteralPart literal && !string.Equals(literal.Content, segments[i], StringComparison.Ordinal))
                return false;
        }
        return true;
    }
}
