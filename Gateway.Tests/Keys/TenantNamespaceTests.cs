using System.Text;
using System.Text.Json;
using Polymur.Gateway.Configuration;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Keys;

/// <summary>
/// -key-prefix as tenant isolation, with keys in a real Consul agent and lines stored by a real carbon-cache:
/// no tenant can write into another's names, or into the self-metrics, after carbon's own normalisation.
/// </summary>
[NotInParallel("carbon-cache")]
public class TenantNamespaceTests
{
    private static long Now => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    [Test]
    [Timeout(120_000)]
    public async Task Names_that_are_not_one_safe_segment_are_refused_and_no_line_leaves_its_tenant(CancellationToken _)
    {
        await using var consul = await ConsulAgent.StartAsync();
        await using var carbon = await CarbonCache.StartAsync();
        // The test gateway's host is test-host.example.com: its self-metrics live under test-host_example_com.polymur.
        const string hostName = "test-host_example_com";
        await consul.PutKeyAsync("a", "key-a-0000000000000000");
        await consul.PutKeyAsync("alice", "key-alice-000000000000");
        await consul.PutKeyAsync("a.b", "key-a-b-00000000000000");
        await consul.PutKeyAsync("a.", "key-a-dot-000000000000");
        await consul.PutKeyAsync(hostName, "key-host-0000000000000");
        await TxnPutAsync(consul, ConsulAgent.Prefix + ".", "key-dot-00000000000000");

        await using var gw = await TestGateway.StartAsync([], o => o with
        {
            KeyPrefix = true,
            MetricsFlushSeconds = 1,
            Destinations = [new DestinationAddress("127.0.0.1", carbon.LinePort, null)],
        }, consul: consul.Settings());
        using var client = gw.Client();

        foreach (string refused in new[] { "key-a-b-00000000000000", "key-a-dot-000000000000", "key-dot-00000000000000", "key-host-0000000000000" })
            await Assert.That((await client.PingAsync(refused)).Status).IsEqualTo(401).Because(refused);
        long now = Now;
        var fromA = await client.IngestAsync("key-a-0000000000000000",
            $"b.x 1 {now}\n.b.x 1 {now}\n..alice.secret 1 {now}\nalice..secret 1 {now}\n{hostName}.polymur.rate 1 {now}\n");
        var fromAlice = await client.IngestAsync("key-alice-000000000000", $"secret 7 {now}\n");

        await Assert.That(fromA.Status).IsEqualTo(200);
        await Assert.That(fromAlice.Status).IsEqualTo(200);
        await Assert.That(gw.App.Counters.LinesInvalid).IsEqualTo(3);
        var stored = await carbon.WaitForMetricsAsync(["a.b.x", $"a.{hostName}.polymur.rate", "alice.secret", $"{hostName}.polymur.rate"], TimeSpan.FromSeconds(30));
        await Assert.That(stored.Where(n => !(n.StartsWith("a.", StringComparison.Ordinal) || n.StartsWith("alice.", StringComparison.Ordinal) || n.StartsWith(hostName + ".polymur.", StringComparison.Ordinal)))).IsEmpty();
        await Assert.That(stored.Where(n => n.StartsWith("alice.", StringComparison.Ordinal))).IsEquivalentTo(["alice.secret"]);
        await Assert.That((await carbon.FetchAsync("alice.secret")).Select(p => p.Value)).IsEquivalentTo([7.0]);
        // The tenant's copy of a self-metric name landed in its own tree; the real one holds the gateway's figure.
        await Assert.That((await carbon.FetchAsync($"a.{hostName}.polymur.rate")).Select(p => p.Value)).IsEquivalentTo([1.0]);

        string logs = gw.Logs.All;
        foreach (string name in new[] { "a.b", "a.", "." })
            await Assert.That(Occurrences(logs, $"{ConsulAgent.Prefix}{name}: the name is not one safe metric path segment")).IsEqualTo(1).Because(name);
        await Assert.That(Occurrences(logs, $"{ConsulAgent.Prefix}{hostName}: the name is the first segment of the self-metrics prefix")).IsEqualTo(1);
    }

    [Test]
    public async Task Without_self_metrics_no_name_is_reserved()
    {
        await using var consul = await ConsulAgent.StartAsync();
        await consul.PutKeyAsync("test-host_example_com", "key-host-0000000000000");
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink, o => o with { KeyPrefix = true }, consul: consul.Settings());
        using var client = gw.Client();

        await Assert.That((await client.PingAsync("key-host-0000000000000")).Status).IsEqualTo(200);
    }

    // Consul's transaction API takes key names that the plain KV path would normalise away, such as ".".
    private static async Task TxnPutAsync(ConsulAgent consul, string key, string value)
    {
        string body = JsonSerializer.Serialize(new[] { new { KV = new { Verb = "set", Key = key, Value = Convert.ToBase64String(Encoding.UTF8.GetBytes(value)) } } });
        var response = await consul.Http.PutAsync("v1/txn", new StringContent(body, Encoding.UTF8, "application/json"));
        response.EnsureSuccessStatusCode();
        var check = await consul.Http.GetAsync($"v1/kv/{ConsulAgent.Prefix}?keys");
        await Assert.That(await check.Content.ReadAsStringAsync()).Contains($"\"{key}\"");
    }

    private static int Occurrences(string text, string part)
    {
        int count = 0;
        for (int i = text.IndexOf(part, StringComparison.Ordinal); i >= 0; i = text.IndexOf(part, i + 1, StringComparison.Ordinal))
            count++;
        return count;
    }
}
