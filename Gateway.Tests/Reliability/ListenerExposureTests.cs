using System.Net;
using Polymur.Gateway.Configuration;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Reliability;

/// <summary>The admin and stats listeners are loopback-only by default, and say so loudly when bound wider.</summary>
public class ListenerExposureTests
{
    [Test]
    public async Task By_default_admin_and_stats_listen_on_loopback_only()
    {
        var defaults = new GatewayOptions();
        await Assert.That(defaults.ApiAddress.IsLoopback).IsTrue();
        await Assert.That(defaults.StatAddress.IsLoopback).IsTrue();

        await using var gw = await TestGateway.StartAsync([]);
        // Bound to 127.0.0.1, a connection from any non-loopback address cannot reach them.
        await Assert.That(IPAddress.IsLoopback(IPAddress.Parse(new Uri(gw.App.AdminAddress).Host))).IsTrue();
        await Assert.That(IPAddress.IsLoopback(IPAddress.Parse(new Uri(gw.App.StatsAddress).Host))).IsTrue();
        await Assert.That(gw.Logs.All).DoesNotContain("reachable from other hosts");
    }

    [Test]
    public async Task Binding_them_wider_logs_a_warning()
    {
        await using var gw = await TestGateway.StartAsync([], o => o with { ApiAddress = new ListenEndpoint("0.0.0.0", 0), StatAddress = new ListenEndpoint("0.0.0.0", 0) });

        await Assert.That(gw.Logs.All).Contains("Warning: Admin API on http://0.0.0.0:");
        await Assert.That(gw.Logs.All).Contains("Warning: Stats on http://0.0.0.0:");
    }
}
