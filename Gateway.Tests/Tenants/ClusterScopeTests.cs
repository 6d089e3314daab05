using System.Text.Json;
using Polymur.Gateway.Configuration;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Tenants;

/// <summary>-consul-register and -tenant-limit-scope cluster, with two gateways and a real agent.</summary>
public class ClusterScopeTests
{
    private static Func<GatewayOptions, GatewayOptions> Clustered(bool cluster = true) => o => o with
    {
        ConsulRegister = true,
        TenantLimitScope = cluster ? LimitScope.Cluster : LimitScope.Instance,
        TenantRateLimit = 1000,
    };

    private static async Task<JsonElement[]> PassingAsync(ConsulAgent consul) =>
        JsonDocument.Parse(await consul.Http.GetStringAsync("v1/health/service/polymur-gateway?passing=1")).RootElement.EnumerateArray().ToArray();

    [Test]
    public async Task Gateways_register_with_ports_tags_and_a_healthz_check_and_deregister_at_stop()
    {
        await using var consul = await ConsulAgent.StartAsync();
        await consul.PutKeyAsync("acme", "key-acme");
        await using var sink = TcpSink.Start();
        using var certificate = new TestCertificate();
        var gw = await TestGateway.StartAsync(sink, o => Clustered(cluster: false)(o) with { CertPath = certificate.CertPath, KeyPath = certificate.KeyPath }, consul: consul.Settings());
        try
        {
            await Assert.That(await Poll.UntilAsync(async () => (await PassingAsync(consul)).Length == 1, TimeSpan.FromSeconds(30))).IsTrue();
            var entry = (await PassingAsync(consul))[0];
            var service = entry.GetProperty("Service");
            int httpPort = new Uri(gw.HttpAddress).Port, httpsPort = new Uri(gw.HttpsAddress).Port;
            await Assert.That(service.GetProperty("Port").GetInt32()).IsEqualTo(httpPort);
            await Assert.That(service.GetProperty("Address").GetString()).IsEqualTo("127.0.0.1");
            await Assert.That(service.GetProperty("Tags").EnumerateArray().Select(t => t.GetString()!)).IsEquivalentTo(new[] { "http", "https" });
            await Assert.That(service.GetProperty("Meta").GetProperty("https_port").GetString()).IsEqualTo(httpsPort.ToString());
            var check = entry.GetProperty("Checks").EnumerateArray().Single(c => c.GetProperty("ServiceName").GetString() == "polymur-gateway");
            await Assert.That(check.GetProperty("Status").GetString()).IsEqualTo("passing");
            // The agent's check really calls /healthz: its output is the gateway's answer. The agent's own view, as it
            // sends an output that changed without a status change to the catalog only every check_update_interval.
            string checks = "";
            bool ran = await Poll.UntilAsync(async () =>
            {
                checks = await consul.Http.GetStringAsync("v1/agent/checks");
                return checks.Contains("API keys");
            }, TimeSpan.FromSeconds(30));
            await Assert.That(ran).IsTrue().Because(checks);
        }
        finally
        {
            await gw.DisposeAsync();
        }
        await Assert.That(JsonDocument.Parse(await consul.Http.GetStringAsync("v1/agent/services")).RootElement.EnumerateObject().Count()).IsEqualTo(0);
        await Assert.That(gw.Logs.All).Contains("Deregistered polymur-gateway-test-host_example_com-");
    }

    [Test]
    public async Task A_cluster_limit_is_divided_by_the_passing_gateways_and_follows_them()
    {
        await using var consul = await ConsulAgent.StartAsync();
        await consul.PutKeyAsync("acme", "key-acme");
        await using var sink = TcpSink.Start();
        await using var first = await TestGateway.StartAsync(sink, Clustered(), consul: consul.Settings());
        var second = await TestGateway.StartAsync(sink, Clustered(), consul: consul.Settings());
        var acme = first.App.Tenants.Get("acme");
        await Assert.That(await Poll.UntilAsync(() => acme.Enforced.Rate == 500 && second.App.Tenants.Get("acme").Enforced.Rate == 500, TimeSpan.FromSeconds(30))).IsTrue();
        await Assert.That(acme.Limit.Rate).IsEqualTo(1000);

        // One stops: it leaves the catalog at once, and the other's share doubles.
        await second.DisposeAsync();
        var doubled = await Poll.TimeAsync(() => Task.FromResult(acme.Enforced.Rate == 1000), TimeSpan.FromSeconds(30));
        Console.WriteLine($"share doubled {doubled?.TotalMilliseconds:0} ms after the other gateway stopped");
        await Assert.That(doubled).IsNotNull();

        // A limit in Consul is divided the same way.
        await using var third = await TestGateway.StartAsync(sink, Clustered(), consul: consul.Settings());
        await consul.PutAsync("polymur/gateway/limits/acme", "{\"rate\": 300, \"burst\": 300}");
        await Assert.That(await Poll.UntilAsync(() => acme.Enforced.Rate == 150 && acme.Enforced.Burst == 150, TimeSpan.FromSeconds(30))).IsTrue();

        // Consul goes down: the last count stands, and batches keep flowing.
        await consul.KillAsync();
        // The count stands through the outage, checked after the instance watch has noticed it and failed again
        // twice on the dead agent's port, rather than after a sleep.
        await Assert.That(await Poll.UntilAsync(() => first.Logs.All.Contains("Cannot read the passing instances of"), TimeSpan.FromSeconds(30))).IsTrue();
        await using (var dead = new ResettingListener(consul.HttpPort))
            await Assert.That(await Poll.UntilAsync(() => dead.Requests("/v1/health/service/") >= 4, TimeSpan.FromSeconds(60))).IsTrue();
        await Assert.That(acme.Enforced.Rate).IsEqualTo(150);
        await Assert.That(first.App.Tenants.Instances).IsEqualTo(2);
        await Assert.That((await first.Client().IngestAsync("key-acme", ProxyClient.Lines("a", 100))).Status).IsEqualTo(200);
    }

    [Test]
    public async Task A_gateway_process_leaves_the_catalog_at_sigterm()
    {
        await using var consul = await ConsulAgent.StartAsync();
        await consul.PutKeyAsync("acme", "key-acme");
        await using var sink = TcpSink.Start();
        await using var gw = GatewayProcess.Start(GatewayProcess.JitBinary,
            ["-listen-addr", "127.0.0.1", "-listen-http-port", "0", "-api-addr", "127.0.0.1:0", "-stat-addr", "127.0.0.1:0",
             "-destinations", sink.Address, "-consul-register", "-consul-service", "edge-gw"],
            new Dictionary<string, string> { ["CONSUL_HTTP_ADDR"] = consul.Address });
        await gw.WaitForHttpAsync();
        async Task<int> Registered() => JsonDocument.Parse(await consul.Http.GetStringAsync("v1/agent/services")).RootElement.EnumerateObject().Count(s => s.Value.GetProperty("Service").GetString() == "edge-gw");
        await Assert.That(await Poll.UntilAsync(async () => await Registered() == 1, TimeSpan.FromSeconds(30))).IsTrue();
        gw.Signal(GatewayProcess.SIGTERM);
        await Assert.That(await gw.WaitForExitAsync(TimeSpan.FromSeconds(20))).IsEqualTo(0);
        await Assert.That(await Registered()).IsEqualTo(0);
        await Assert.That(gw.Stderr).Contains("Deregistered edge-gw-");
    }
}
