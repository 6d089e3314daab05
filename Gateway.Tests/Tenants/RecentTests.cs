using System.Net;
using Polymur.Gateway.Tenants;

namespace Polymur.Gateway.Tests.Tenants;

public class RecentTests
{
    [Test]
    public async Task Clients_keep_the_newest_few_distinct_addresses_with_clean_forwarded_for()
    {
        var clients = new RecentClients();
        for (int i = 0; i < 10; i++)
            clients.Seen(IPAddress.Parse($"10.0.0.{i}"), null, 1000 + i);
        clients.Seen(IPAddress.Parse("10.0.0.9"), "198.51.100.1\u0001<script>", 2000);
        var seen = clients.Snapshot();
        await Assert.That(seen.Length).IsEqualTo(RecentClients.Capacity);
        await Assert.That(seen[0]).IsEqualTo(("10.0.0.9", (string?)"198.51.100.1?<script>", 2000L));
        await Assert.That(seen.Select(s => s.Address)).DoesNotContain("10.0.0.5");
    }

    [Test]
    public async Task Rejects_keep_the_last_five_newest_first()
    {
        var rejects = new RecentRejects();
        for (int i = 0; i < 7; i++)
            rejects.Add(new RejectSample(i, "r", $"line {i}"));
        await Assert.That(rejects.Snapshot().Select(r => r.Line)).IsEquivalentTo(new[] { "line 6", "line 5", "line 4", "line 3", "line 2" }, TUnit.Assertions.Enums.CollectionOrdering.Matching);
    }

    [Test]
    public async Task Rates_over_10_and_60_seconds_follow_the_samples()
    {
        var window = new RateWindow();
        await Assert.That(window.PerSecond(10)).IsEqualTo(0);
        long total = 0;
        for (int second = 0; second < 70; second++)
        {
            total += second < 60 ? 100 : 1000; // 100/s for a minute, then 1000/s
            window.Sample(total);
        }
        await Assert.That(window.PerSecond(10)).IsEqualTo(1000);
        await Assert.That(window.PerSecond(60)).IsEqualTo((10 * 1000 + 50 * 100) / 60.0);
    }

    [Test]
    public async Task A_first_batch_shows_as_a_rate_from_zero()
    {
        var window = new RateWindow();
        window.Sample(0);
        window.Sample(500);
        await Assert.That(window.PerSecond(10)).IsEqualTo(500);
    }
}
