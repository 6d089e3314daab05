using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Polymur.Gateway.Tests.Top;

/// <summary>A real HTTP server (Kestrel on 127.0.0.1, port 0) that answers every request with <c>answer</c>: an odd /stats for top.</summary>
internal sealed class OddStatsServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private long _requests;

    private OddStatsServer(WebApplication app) => _app = app;

    /// <summary>host:port, as -stat-addr takes it.</summary>
    public string Address { get; private set; } = "";

    public long Requests => Interlocked.Read(ref _requests);

    public static async Task<OddStatsServer> StartAsync(Func<HttpContext, Task> answer)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var server = new OddStatsServer(app);
        app.Run(context =>
        {
            Interlocked.Increment(ref server._requests);
            return answer(context);
        });
        await app.StartAsync();
        string url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Address = new Uri(url).Authority;
        return server;
    }

    public static Func<HttpContext, Task> Json(string body) => context =>
    {
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(body);
    };

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
