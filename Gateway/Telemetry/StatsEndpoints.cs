using System.Text.Json;
using System.Text.Json.Serialization;

namespace Polymur.Gateway.Telemetry;

/// <summary>The stats listener (-stat-addr): /stats (JSON), /metrics (Prometheus), /healthz and /readyz.</summary>
internal sealed class StatsEndpoints(StatsCollector stats, Readiness readiness)
{
    /// <summary>Maps the routes into <paramref name="routes"/>; the caller decides which listener serves them.</summary>
    public void Map(IEndpointRouteBuilder routes)
    {
        routes.MapGet("/stats", StatsAsync);
        routes.MapGet("/metrics", MetricsAsync);
        routes.MapGet("/healthz", HealthAsync);
        routes.MapGet("/readyz", ReadyAsync);
    }

    private async Task StatsAsync(HttpContext context)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        await JsonSerializer.SerializeAsync(context.Response.Body, stats.Take(), StatsJsonContext.Default.StatsSnapshot, context.RequestAborted);
    }

    private async Task MetricsAsync(HttpContext context)
    {
        context.Response.ContentType = PrometheusText.ContentType;
        foreach (var chunk in PrometheusText.Chunks(stats.Take()))
            await context.Response.WriteAsync(chunk, context.RequestAborted);
    }

    // Liveness: the process answers and every destination's writer runs (one that stopped would deliver nothing
    // until a restart). Key-source trouble is reported, not failed on: restarting would not fix Consul.
    private Task HealthAsync(HttpContext context)
    {
        var snapshot = stats.Take();
        var keys = snapshot.Keys;
        context.Response.ContentType = "text/plain; charset=utf-8";
        var stopped = snapshot.Destinations.Where(d => !d.WriterRunning).Select(d => d.Name).ToArray();
        if (stopped.Length > 0)
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return context.Response.WriteAsync($"failing: the writer of {string.Join(", ", stopped)} is not running\n", context.RequestAborted);
        }
        string consul = keys.Source != "consul" ? keys.Source : keys.Reachable ? "consul reachable" : $"consul unreachable: {keys.LastError}";
        return context.Response.WriteAsync($"ok; {keys.Count} API keys ({consul})\n", context.RequestAborted);
    }

    private Task ReadyAsync(HttpContext context)
    {
        var (ready, reason) = readiness.Check();
        context.Response.StatusCode = ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(reason + "\n", context.RequestAborted);
    }
}

/// <summary>Source-generated JSON for /stats: no reflection, AOT-safe.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true)]
[JsonSerializable(typeof(StatsSnapshot))]
internal sealed partial class StatsJsonContext : JsonSerializerContext;
