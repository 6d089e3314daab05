using Polymur.Gateway.Admin;
using Polymur.Gateway.Configuration;
using Polymur.Gateway.Telemetry;

namespace Polymur.Gateway.Hosting.Wiring;

/// <summary>
/// The middleware every request passes, in order, and the endpoints behind it. Connection accounting and
/// the error guard come first, so that nothing after them can leak a connection or a stack trace.
/// </summary>
internal static class RequestPipeline
{
    public static void Map(WebApplication web, GatewayOptions options, Func<IReadOnlyList<OwnListener>> ownListeners, ConnectionLimit connections, IngestParts ingest, OutputParts outputs, TenantParts tenants, TelemetryParts telemetry, ILoggerFactory loggers)
    {
        web.Use(connections.TrackRequest);
        web.Use(new UnhandledErrors(loggers.CreateLogger<UnhandledErrors>()).Enforce);
        web.UseRouting();
        web.Use(ExactPaths.Enforce);
        web.Use(ListenerScopes.Enforce);
        web.Use(new OperatorGuard(options.ApiToken, options.ApiTokenStats).Enforce);
        var ingestRoutes = On(web, ListenerScope.Ingest);
        ingestRoutes.Map("/ping", ingest.Handler.PingAsync);
        ingestRoutes.Map("/ingest", ingest.Handler.IngestAsync);
        var admin = On(web, ListenerScope.Admin);
        new AdminEndpoints(outputs.Destinations, options.DrainTimeout, ownListeners).Map(admin);
        new TenantEndpoints(tenants.Registry).Map(admin);
        new StatsEndpoints(telemetry.Stats, telemetry.Readiness).Map(On(web, ListenerScope.Stats));
    }

    // Routes that answer only on the listener of their scope (see ListenerScopes.Enforce).
    private static RouteGroupBuilder On(WebApplication web, ListenerScope scope)
    {
        var group = web.MapGroup("");
        group.WithMetadata(new ListenerScopeMetadata(scope));
        return group;
    }
}
