using System.Diagnostics;
using Polymur.Gateway.Keys;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Tenants;

/// <summary>Per-tenant token buckets: 429 with Retry-After, counted for the tenant, and the rate honoured over time.</summary>
public class QuotaTests
{
    private static StaticKeyCache Keys() => new(KeySnapshot.From([("capped", "key-capped"), ("other", "key-other")]));

    [Test]
    public async Task Over_quota_batches_get_429_with_retry_after_counted_for_that_tenant()
    {
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink, o => o with { TenantRateLimit = 100 }, keys: Keys());
        using var client = gw.Client();
        // The burst is one second's worth: 100 points pass, the next 100 at once do not.
        await Assert.That((await client.IngestAsync("key-capped", ProxyClient.Lines("c", 100))).Status).IsEqualTo(200);
        var refused = await client.IngestAsync("key-capped", ProxyClient.Lines("c", 100, 100));
        await Assert.That(refused.Status).IsEqualTo(429);
        await Assert.That(refused.Body).Contains("rate limit");
        await Assert.That(int.Parse(refused.RetryAfter!)).IsBetween(1, 2);
        // Another tenant has its own bucket.
        await Assert.That((await client.IngestAsync("key-other", ProxyClient.Lines("o", 100))).Status).IsEqualTo(200);
        await Assert.That(gw.App.Tenants.Get("capped").Counters.Refused(429)).IsEqualTo(1);
        await Assert.That(gw.App.Tenants.Get("other").Counters.Refused(429)).IsEqualTo(0);
        await Assert.That(gw.App.Counters.Refused(429)).IsEqualTo(1);
        using var stats = gw.StatsClient();
        await Assert.That(await stats.GetStringAsync("/metrics")).Contains("polymur_gateway_tenant_batches_refused_total{tenant=\"capped\",status=\"429\"} 1\n");
        // A refused batch is not counted as received, and its lines never reach a destination.
        await Assert.That(await sink.WaitForAsync(200)).IsTrue();
        await Assert.That((await sink.SettleAsync()).Count(l => l.StartsWith("c.", StringComparison.Ordinal))).IsEqualTo(100);
    }

    [Test]
    public async Task A_batch_larger_than_the_burst_passes_on_a_full_bucket_and_leaves_it_in_debt()
    {
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink, o => o with { TenantRateLimit = 50 }, keys: Keys());
        using var client = gw.Client();
        var sinceDebt = Stopwatch.StartNew(); // started before the debt is: it can only see the wait as longer
        await Assert.That((await client.IngestAsync("key-capped", ProxyClient.Lines("c", 150))).Status).IsEqualTo(200);
        var next = await client.IngestAsync("key-capped", ProxyClient.Lines("c", 1));
        await Assert.That(next.Status).IsEqualTo(429);
        // 100 points of debt at 50/s: 2.02 s before one point fits. The 429 is held (it is refused before its body
        // is read) and its Retry-After counts the rest, so the retry it allows is that late, however slow the machine.
        await Assert.That(sinceDebt.Elapsed.TotalSeconds + int.Parse(next.RetryAfter!)).IsGreaterThanOrEqualTo(2);
    }

    [Test]
    public async Task The_rate_holds_within_5_percent_over_10_seconds()
    {
        const double rate = 4000;
        const int batch = 100;
        await using var sink = CountingSink.Start();
        await using var gw = await TestGateway.StartAsync([], o => o with { TenantRateLimit = rate, Destinations = [new("127.0.0.1", sink.Port, null)] }, keys: Keys());
        using var client = gw.Client();
        string lines = ProxyClient.Lines("c", batch);
        // Send until the burst is spent (the first 429), then count what passes in the next 10 s.
        while ((await client.IngestAsync("key-capped", lines)).Status == 200)
        {
        }
        long accepted = 0, refused = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            var reply = await client.IngestAsync("key-capped", lines);
            if (reply.Status == 200)
                accepted += batch;
            else
                refused++;
            await Task.Delay(5);
        }
        double measured = accepted / clock.Elapsed.TotalSeconds;
        Console.WriteLine($"quota {rate}/s: {measured:0.0}/s accepted over {clock.Elapsed.TotalSeconds:0.00}s, {refused} batches refused");
        await Assert.That(measured).IsBetween(rate * 0.95, rate * 1.05);
        await Assert.That(refused).IsGreaterThan(0);
    }
}
