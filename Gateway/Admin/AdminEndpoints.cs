using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Polymur.Gateway.Configuration;
using Polymur.Gateway.Outputs;

namespace Polymur.Gateway.Admin;

/// <summary>
/// The destinations API on -api-addr. The verbs of polymur's raw-TCP admin port map to it: <c>getdest</c> is
/// <c>GET /destinations</c>, <c>putdest d</c> is <c>POST /destinations</c> with <c>{"address":"d"}</c>,
/// <c>deldest d</c> is <c>DELETE /destinations/d</c>.
/// </summary>
/// <param name="ownListeners">Every address the gateway listens on now: a destination among them is a loop, refused (400).</param>
internal sealed class AdminEndpoints(DestinationSet destinations, TimeSpan removalDrain, Func<IReadOnlyList<OwnListener>> ownListeners)
{
    private const int MaxBodyBytes = 4096;

    /// <summary>Maps the routes into <paramref name="routes"/>; the caller decides which listener serves them.</summary>
    public void Map(IEndpointRouteBuilder routes)
    {
        routes.MapGet("/destinations", ListAsync);
        routes.MapPost("/destinations", AddAsync);
        routes.MapDelete("/destinations/{address}", RemoveAsync);
    }

    private Task ListAsync(HttpContext context) =>
        WriteAsync(context, 200, destinations.Current.Select(DestinationView.Of).ToArray(), AdminJsonContext.Default.DestinationViewArray);

    private async Task AddAsync(HttpContext context)
    {
        AddDestinationRequest? request;
        try
        {
            if (context.Request.ContentLength is null or 0 or > MaxBodyBytes)
            {
                await ErrorAsync(context, 400, $"send a JSON body of at most {MaxBodyBytes} bytes: {{\"address\": \"host:port[:instance]\"}}");
                return;
            }
            request = await JsonSerializer.DeserializeAsync(context.Request.Body, AdminJsonContext.Default.AddDestinationRequest, context.RequestAborted);
        }
        catch (JsonException e)
        {
            await ErrorAsync(context, 400, $"body is not valid JSON: {e.Message}");
            return;
        }
        if (string.IsNullOrWhiteSpace(request?.Address))
        {
            await ErrorAsync(context, 400, "missing address (host:port[:instance])");
            return;
        }
        if (!DestinationAddress.TryParse(request.Address, out var address, out string error))
        {
            await ErrorAsync(context, 400, error);
            return;
        }
        if (await LoopCheck.ProblemAsync(address!, ownListeners(), context.RequestAborted) is { } loop)
        {
            await ErrorAsync(context, 400, loop);
            return;
        }
        if (!destinations.TryAdd(address!, out var destination))
        {
            await ErrorAsync(context, 409, $"destination {address!.Name} already exists");
            return;
        }
        context.Response.Headers.Location = $"/destinations/{Uri.EscapeDataString(destination.Name)}";
        await WriteAsync(context, 201, DestinationView.Of(destination), AdminJsonContext.Default.DestinationView);
    }

    private async Task RemoveAsync(HttpContext context)
    {
        string name = (string)context.Request.RouteValues["address"]!;
        if (DestinationAddress.TryParse(name, out var parsed, out _))
            name = parsed!.Name;
        var removed = await destinations.RemoveAsync(name, removalDrain);
        if (removed is null)
        {
            await ErrorAsync(context, 404, $"no destination {name}");
            return;
        }
        await WriteAsync(context, 200, DestinationView.Of(removed), AdminJsonContext.Default.DestinationView);
    }

    private static Task ErrorAsync(HttpContext context, int status, string message) =>
        WriteAsync(context, status, new AdminError(message), AdminJsonContext.Default.AdminError);

    private static async Task WriteAsync<T>(HttpContext context, int status, T value, JsonTypeInfo<T> type)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        await JsonSerializer.SerializeAsync(context.Response.Body, value, type, context.RequestAborted);
    }
}
