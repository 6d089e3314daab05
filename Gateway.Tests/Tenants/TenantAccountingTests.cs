using System.Net.Http.Json;
using System.Text.Json;
using Polymur.Gateway.Keys;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Tenants;

/// <summary>Per-tenant figures for a mix of tenants, lines and refusals, read back from every place that shows them.</summary>
public class TenantAccountingTests
{
    private static StaticKeyCache Keys() => new(KeySnapshot.From([("alpha", "key-alpha"), ("beta", "key-beta"), ("idle", "key-idle")]));

    [Test]
    public async Task Counts_each_tenant_exactly_in_tenants_api_stats_and_metrics()
    {
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink, o => o with { MaxLineLength = 200 }, keys: Keys());
        using var client = gw.Client();

        // alpha: two accepted batches, 10 + 5 valid, 2 invalid (a bad value and a bad path), 1 too long.
        string longLine = "a." + new string('x', 300) + " 1 1700000000\n";
        var first = await client.IngestAsync("key-alpha", ProxyClient.Lines("a", 10) + "a.bad notanumber 1700000000\n" + longLine);
        var second = await client.SendAsync("/ingest", "key-alpha", ProxyClient.Gzip(ProxyClient.Lines("a", 5) + "a..b 1 1700000000\n"),
            r => r.Headers.TryAddWithoutValidation("X-Forwarded-For", "203.0.113.7"));
        // beta: one accepted batch of 3, and one malformed body (400).
        var third = await client.IngestAsync("key-beta", ProxyClient.Lines("b", 3));
        var broken = await client.SendAsync("/ingest", "key-beta", [0x1f, 0x8b, 0x08, 0x00, 0x01, 0x02]);
        // A wrong key is a 401 and belongs to no tenant.
        var unknown = await client.IngestAsync("nobody", ProxyClient.Lines("z", 1));
        await Assert.That(new[] { first.Status, second.Status, third.Status, broken.Status, unknown.Status }).IsEquivalentTo(new[] { 200, 200, 200, 400, 401 });
        await Assert.That(await sink.WaitForAsync(18)).IsTrue();

        using var admin = gw.AdminClient();
        using var alpha = JsonDocument.Parse(await admin.GetStringAsync("/tenants/alpha"));
        var stats = alpha.RootElement.GetProperty("stats");
        await Assert.That(stats.GetProperty("batches_accepted").GetInt64()).IsEqualTo(2);
        await Assert.That(stats.GetProperty("points_accepted").GetInt64()).IsEqualTo(15);
        await Assert.That(stats.GetProperty("points_invalid").GetInt64()).IsEqualTo(2);
        await Assert.That(stats.GetProperty("points_too_long").GetInt64()).IsEqualTo(1);
        await Assert.That(stats.GetProperty("bytes_decompressed").GetInt64()).IsGreaterThan(15 * 20);
        await Assert.That(stats.GetProperty("bytes_compressed").GetInt64()).IsGreaterThan(0);
        await Assert.That(stats.GetProperty("last_batch").ValueKind).IsEqualTo(JsonValueKind.String);
        var rejects = alpha.RootElement.GetProperty("recent_invalid_lines").EnumerateArray().ToList();
        await Assert.That(rejects.Count).IsEqualTo(2); // the first rejected line of each batch
        await Assert.That(rejects[0].GetProperty("line").GetString()).IsEqualTo("a..b 1 1700000000");
        await Assert.That(rejects[0].GetProperty("reason").GetString()!).Contains("path");
        await Assert.That(rejects[1].GetProperty("line").GetString()).IsEqualTo("a.bad notanumber 1700000000");
        await Assert.That(rejects[1].GetProperty("reason").GetString()!).Contains("value");
        var clients = alpha.RootElement.GetProperty("recent_clients").EnumerateArray().ToList();
        await Assert.That(clients.Select(c => c.GetProperty("address").GetString())).Contains("127.0.0.1");
        await Assert.That(clients.Select(c => c.TryGetProperty("forwarded_for", out var f) ? f.GetString() : null)).Contains("203.0.113.7");

        using var beta = JsonDocument.Parse(await admin.GetStringAsync("/tenants/beta"));
        var betaStats = beta.RootElement.GetProperty("stats");
        await Assert.That(betaStats.GetProperty("points_accepted").GetInt64()).IsEqualTo(3);
        await Assert.That(betaStats.GetProperty("refused").GetProperty("400").GetInt64()).IsEqualTo(1);
        await Assert.That(betaStats.GetProperty("refused").GetProperty("503").GetInt64()).IsEqualTo(0);

        // Every valid key name is a tenant, even before it sends; an unknown name is a 404.
        using var all = JsonDocument.Parse(await admin.GetStringAsync("/tenants"));
        await Assert.That(all.RootElement.EnumerateArray().Select(t => t.GetProperty("name").GetString()!)).IsEquivalentTo(new[] { "alpha", "beta", "idle" });
        await Assert.That((int)(await admin.GetAsync("/tenants/nobody")).StatusCode).IsEqualTo(404);

        using var statsClient = gw.StatsClient();
        string metrics = await statsClient.GetStringAsync("/metrics");
        await Assert.That(metrics).Contains("polymur_gateway_tenant_points_total{tenant=\"alpha\",result=\"accepted\"} 15\n");
        await Assert.That(metrics).Contains("polymur_gateway_tenant_points_total{tenant=\"alpha\",result=\"invalid\"} 2\n");
        await Assert.That(metrics).Contains("polymur_gateway_tenant_points_total{tenant=\"alpha\",result=\"too_long\"} 1\n");
        await Assert.That(metrics).Contains("polymur_gateway_tenant_batches_refused_total{tenant=\"beta\",status=\"400\"} 1\n");
        await Assert.That(metrics).Contains("polymur_gateway_tenant_batches_accepted_total{tenant=\"idle\"} 0\n");
        await Assert.That(metrics).Contains("polymur_gateway_tenants 3\n");
        using var json = JsonDocument.Parse(await statsClient.GetStringAsync("/stats"));
        var tenants = json.RootElement.GetProperty("tenants").EnumerateArray().ToDictionary(t => t.GetProperty("name").GetString()!);
        await Assert.That(tenants["beta"].GetProperty("batches_accepted").GetInt64()).IsEqualTo(1);
        await Assert.That(tenants["alpha"].GetProperty("points_accepted").GetInt64()).IsEqualTo(15);
    }

    [Test]
    public async Task A_removed_key_keeps_its_series_for_the_grace_then_leaves()
    {
        await using var consul = await ConsulAgent.StartAsync();
        await consul.PutKeyAsync("stays", "key-stays");
        await consul.PutKeyAsync("leaves", "key-leaves");
        await using var sink = TcpSink.Start();
        // An hour's grace that the test passes itself, on the registry's own clock argument: "still listed during
        // the grace" then cannot fail because a slow machine let two real seconds go by before /metrics was read.
        var grace = TimeSpan.FromHours(1);
        await using var gw = await TestGateway.StartAsync(sink, o => o with { TenantGrace = grace }, consul: consul.Settings());
        using var client = gw.Client();
        await Assert.That((await client.IngestAsync("key-leaves", ProxyClient.Lines("l", 4))).Status).IsEqualTo(200);
        await consul.DeleteKeyAsync("leaves");
        // Refused at once, but still listed (marked as no longer valid) during the grace.
        await Assert.That(await Poll.UntilAsync(async () => (await client.PingAsync("key-leaves")).Status == 401, TimeSpan.FromSeconds(30))).IsTrue();
        long removedAt = 0;
        await Assert.That(await Poll.UntilAsync(() => gw.App.Tenants.TryFind("leaves", out var t) && (removedAt = t.RemovedAtMs) != 0, TimeSpan.FromSeconds(30))).IsTrue();
        using var stats = gw.StatsClient();
        await Assert.That(await stats.GetStringAsync("/metrics")).Contains("polymur_gateway_tenant_points_total{tenant=\"leaves\",result=\"accepted\"} 4\n");
        // Just short of the grace it stays; at the grace it leaves.
        gw.App.Tenants.Refresh(removedAt + (long)grace.TotalMilliseconds - 1, sample: false);
        await Assert.That(gw.App.Tenants.TryFind("leaves", out _)).IsTrue();
        gw.App.Tenants.Refresh(removedAt + (long)grace.TotalMilliseconds, sample: false);
        await Assert.That(gw.App.Tenants.TryFind("leaves", out _)).IsFalse();
        string metrics = await stats.GetStringAsync("/metrics");
        await Assert.That(metrics).DoesNotContain("tenant=\"leaves\"");
        await Assert.That(metrics).Contains("polymur_gateway_tenants 1\n");
    }
}
