using System.Text;
using Polymur.Gateway.Keys;
using Polymur.Gateway.Tenants;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Tenants;

/// <summary>
/// Refused work costs nothing: a batch its tenant's bucket cannot cover is refused before it is inflated, counted
/// in inflated bytes (polymur_gateway_tenant_bytes_total{form="decompressed"}), not timed. The buckets run on a
/// clock the test moves, so what the bucket holds at each request is exact.
/// </summary>
public class QuotaCostTests
{
    private static StaticKeyCache Keys() => new(KeySnapshot.From([("capped", "key-capped")]));

    [Test]
    public async Task A_flood_past_its_quota_has_its_batches_refused_before_they_are_inflated()
    {
        var clock = new ManualClock(); // still: the bucket holds exactly what the first batch left
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink, o => o with { TenantRateLimit = 1500 }, keys: Keys(), tenantClock: clock);
        string lines = ProxyClient.Lines("f", 1000);
        byte[] body = ProxyClient.Gzip(lines);
        using var first = gw.Client();
        await Assert.That((await first.SendAsync("/ingest", "key-capped", body)).Status).IsEqualTo(200);
        var tenant = gw.App.Tenants.Get("capped");
        long inflatedOnce = tenant.Counters.BytesDecompressed;
        await Assert.That(inflatedOnce).IsEqualTo(Encoding.UTF8.GetByteCount(lines));

        // 500 points left: more than one (the old check let every batch in to be inflated, then refused it), fewer
        // than a batch. Ten connections at once, five batches each.
        var statuses = await Task.WhenAll(Enumerable.Range(0, 10).Select(async _ =>
        {
            using var client = gw.Client();
            var seen = new List<int>();
            for (int i = 0; i < 5; i++)
            {
                var reply = await client.SendAsync("/ingest", "key-capped", body);
                seen.Add(reply.Status);
                if (reply.Status == 429 && !(int.TryParse(reply.RetryAfter, out int s) && s >= 1))
                    seen.Add(-1); // a 429 must say when to come back
            }
            return seen;
        }));
        await Assert.That(statuses.SelectMany(s => s).All(s => s == 429)).IsTrue().Because(string.Join(",", statuses.SelectMany(s => s).Distinct()));
        await Assert.That(tenant.Counters.Refused(429)).IsEqualTo(50);
        await Assert.That(tenant.Counters.BytesDecompressed).IsEqualTo(inflatedOnce);
        using var stats = gw.StatsClient();
        await Assert.That(await stats.GetStringAsync("/metrics")).Contains($"polymur_gateway_tenant_bytes_total{{tenant=\"capped\",form=\"decompressed\"}} {inflatedOnce}\n");

        // A second later the bucket is full again and the same batch passes.
        clock.Advance(TimeSpan.FromSeconds(1));
        await Assert.That((await first.SendAsync("/ingest", "key-capped", body)).Status).IsEqualTo(200);
        await Assert.That(tenant.Counters.BytesDecompressed).IsEqualTo(2 * inflatedOnce);
    }

    [Test]
    public async Task A_client_that_ignores_retry_after_waits_for_each_429_so_a_flood_is_bounded_by_its_connections()
    {
        var clock = new ManualClock(); // still: the bucket stays in debt
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink, o => o with { TenantRateLimit = 100 }, keys: Keys(), tenantClock: clock);
        using var client = gw.Client();
        await Assert.That((await client.IngestAsync("key-capped", ProxyClient.Lines("h", 1000))).Status).IsEqualTo(200);
        // 900 points of debt, and the next batch needs a full bucket (100): 10 s at 100/s. Each request straight after
        // the last is held a second, then told the rest: a client that comes straight back makes one request a
        // second, however fast it is.
        for (int i = 0; i < 3; i++)
        {
            var asked = System.Diagnostics.Stopwatch.StartNew();
            var reply = await client.IngestAsync("key-capped", ProxyClient.Lines("h", 1000));
            await Assert.That(reply.Status).IsEqualTo(429);
            await Assert.That(asked.Elapsed).IsGreaterThanOrEqualTo(TimeSpan.FromSeconds(0.95));
            await Assert.That(reply.RetryAfter).IsEqualTo("9");
        }
        await Assert.That(gw.App.Tenants.Get("capped").Counters.Refused(429)).IsEqualTo(3);
    }

    [Test]
    public async Task A_tenant_at_80_percent_of_its_limit_with_unevenly_compressible_batches_gets_no_429()
    {
        // 100,000 points/s; a batch every 0.25 s averaging 20,000 points: 80,000 points/s. Half the batches are
        // random values (poor gzip), half one repeated name (gzip packs it ~20x tighter), so a guess from the last
        // ratio alone would put a random batch at many times its points.
        var clock = new ManualClock();
        await using var sink = CountingSink.Start();
        await using var gw = await TestGateway.StartAsync([], o => o with { TenantRateLimit = 100_000, Destinations = [new("127.0.0.1", sink.Port, null)] }, keys: Keys(), tenantClock: clock);
        using var client = gw.Client();
        var random = new Random(23);
        var reference = new TokenBucket(clock); // what the bucket alone, on the exact points, would answer
        reference.Set(100_000, 100_000);
        var ratios = new List<double>();
        int sent = 0;
        for (int i = 0; i < 40; i++)
        {
            int points = 10_000 + random.Next(20_001);
            string lines = i % 2 == 0 ? Repetitive(points) : RandomValues(points, random);
            byte[] body = ProxyClient.Gzip(lines);
            ratios.Add(points / (double)body.Length);
            await Assert.That(reference.TryTake(points, out _)).IsTrue().Because("the load itself is under the limit");
            var reply = await client.SendAsync("/ingest", "key-capped", body);
            await Assert.That(reply.Status).IsEqualTo(200).Because($"batch {i}: {points} points in {body.Length} bytes: {reply.Body}");
            sent += points;
            clock.Advance(TimeSpan.FromSeconds(0.25));
        }
        Console.WriteLine($"points per gzip'd byte from {ratios.Min():0.00} to {ratios.Max():0.00}; {sent} points in 10 s of bucket time");
        await Assert.That(ratios.Max() / ratios.Min()).IsGreaterThan(4);
        await Assert.That(gw.App.Tenants.Get("capped").Counters.Refused(429)).IsEqualTo(0);
    }

    [Test]
    public async Task A_batch_that_fails_after_its_points_were_reserved_gives_them_back()
    {
        var clock = new ManualClock();
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink, o => o with { TenantRateLimit = 2000 }, keys: Keys(), tenantClock: clock);
        using var client = gw.Client();
        byte[] body = ProxyClient.Gzip(ProxyClient.Lines("r", 1000));
        await Assert.That((await client.SendAsync("/ingest", "key-capped", body)).Status).IsEqualTo(200);
        // The same size with its CRC broken: guessed at 1,000 points, all the bucket holds, then malformed.
        byte[] broken = [.. body];
        broken[^8] ^= 0xff;
        await Assert.That((await client.SendAsync("/ingest", "key-capped", broken)).Status).IsEqualTo(400);
        // Its reservation is back: a real batch of 1,000 still fits.
        await Assert.That((await client.SendAsync("/ingest", "key-capped", body)).Status).IsEqualTo(200);
        await Assert.That((await client.SendAsync("/ingest", "key-capped", body)).Status).IsEqualTo(429);
    }

    [Test]
    public async Task A_rate_too_small_for_the_clock_gets_429_with_at_most_an_hour_never_500()
    {
        // A limit below the minimum cannot come from Consul or the flag any more, but a cluster share divides one;
        // the bucket must still answer.
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink, keys: Keys());
        gw.App.Tenants.SetLimits(new Dictionary<string, TenantLimit> { ["capped"] = new(1e-13, 1) });
        using var client = gw.Client();
        await Assert.That((await client.IngestAsync("key-capped", ProxyClient.Lines("t", 1))).Status).IsEqualTo(200);
        foreach (int lines in new[] { 1, 5000 })
        {
            var refused = await client.IngestAsync("key-capped", ProxyClient.Lines("t", lines));
            await Assert.That(refused.Status).IsEqualTo(429).Because(refused.Body);
            // The longest wait, an hour, less the second the answer was held.
            await Assert.That(refused.RetryAfter).IsEqualTo("3599");
        }
    }

    private static string Repetitive(int points)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < points; i++)
            sb.Append("polite.web01.requests 1 1700000000\n");
        return sb.ToString();
    }

    private static string RandomValues(int points, Random random)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < points; i++)
            sb.Append("polite.m").Append(random.Next(1_000_000)).Append(' ').Append(random.NextDouble() * 1e9).Append(' ').Append(1_700_000_000 + random.Next(86_400)).Append('\n');
        return sb.ToString();
    }
}
