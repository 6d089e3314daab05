using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Polymur.Gateway.Hosting;

/// <summary>Which listener a route belongs to. A route answers only on its own listener's connections.</summary>
public enum ListenerScope
{
    Ingest,
    Admin,
    Stats,
}

/// <summary>
/// Tags each connection with the listener that accepted it, and turns away requests for routes of another
/// listener (404), so /ingest is not reachable on the admin port and the admin API not on the public one.
/// </summary>
internal static class ListenerScopes
{
    private const string Key = "polymur.listener";

    public static void Tag(ListenOptions listen, ListenerScope scope) =>
        listen.Use(next => connection =>
        {
            connection.Items[Key] = scope;
            return next(connection);
        });

    public static ListenerScope? Of(HttpContext context) =>
        context.Features.Get<IConnectionItemsFeature>()?.Items.TryGetValue(Key, out var scope) == true ? (ListenerScope)scope! : null;

    /// <summary>Runs after routing: a matched endpoint from another listener is answered 404.</summary>
    public static Task Enforce(HttpContext context, RequestDelegate next)
    {
        var wanted = context.GetEndpoint()?.Metadata.GetMetadata<ListenerScopeMetadata>();
        if (wanted is not null && wanted.Scope != Of(context))
        {
            context.SetEndpoint(null);
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        }
        return next(context);
    }
}

/// <summary>Endpoint metadata naming the listener a route is served on.</summary>
public sealed record ListenerScopeMetadata(ListenerScope Scope);
