using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Polymur.Gateway.Tenants;

namespace Polymur.Gateway.Admin;

/// <summary>The tenants API on -api-addr: <c>GET /tenants</c> (every tenant's figures) and <c>GET /tenants/{name}</c>.</summary>
internal sealed class TenantEndpoints(TenantRegistry tenants)
{
    public void Map(IEndpointRouteBuilder routes)
    {
        routes.MapGet("/tenants", ListAsync);
        routes.MapGet("/tenants/{name}", GetAsync);
    }

    private Task ListAsync(HttpContext context) =>
        WriteAsync(context, 200, tenants.All().Select(TenantStats.Of).ToArray(), AdminJsonContext.Default.TenantStatsArray);

    private Task GetAsync(HttpContext context)
    {
        string name = (string)context.Request.RouteValues["name"]!;
        return tenants.TryFind(name, out var tenant)
            ? WriteAsync(context, 200, TenantDetail.Of(tenant), AdminJsonContext.Default.TenantDetail)
            : WriteAsync(context, 404, new AdminError($"no tenant {(name.Length > 64 ? name[..64] + "..." : name)}"), AdminJsonContext.Default.AdminError);
    }

    private static async Task WriteAsync<T>(HttpContext context, int status, T value, JsonTypeInfo<T> type)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        await JsonSerializer.SerializeAsync(context.Response.Body, value, type, context.RequestAborted);
    }
}
