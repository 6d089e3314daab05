using System.Diagnostics;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Keys;

/// <summary>The gateway's keys from a real Consul agent: changes arrive through blocking queries, at once.</summary>
public class ConsulKeySyncTests
{
    [Test]
    public async Task Created_key_is_accepted_and_deleted_key_refused_within_a_second()
    {
        await using var consul = await ConsulAgent.StartAsync();
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink, consul: consul.Settings());
        using var client = gw.Client();
        await Assert.That((await client.PingAsync("k-0123456789abcdef")).Status).IsEqualTo(401);

        var created = Stopwatch.StartNew();
        await consul.PutKeyAsync("customer-a", "k-0123456789abcdef");
        var acceptedAfter = await UntilStatusAsync(client, "k-0123456789abcdef", 200);

        var deleted = Stopwatch.StartNew();
        await consul.DeleteKeyAsync("customer-a");
        var refusedAfter = await UntilStatusAsync(client, "k-0123456789abcdef", 401);

        Console.WriteLine($"create -> first 200: {acceptedAfter.TotalMilliseconds:0} ms; delete -> first 401: {refusedAfter.TotalMilliseconds:0} ms");
        await Assert.That(acceptedAfter).IsLessThan(TimeSpan.FromSeconds(1.5));
        await Assert.That(refusedAfter).IsLessThan(TimeSpan.FromSeconds(1.5));
        // Logged just after the new keys are in place, so a request can see them a moment before the line is written.
        await Assert.That(await Poll.UntilAsync(() => gw.Logs.All.Contains("API keys refreshed: 0 new, 1 removed, 0 regenerated; 0 valid"), TimeSpan.FromSeconds(30))).IsTrue();
    }

    [Test]
    public async Task Regenerated_key_replaces_the_old_one_and_the_prefix_is_the_consul_name()
    {
        await using var consul = await ConsulAgent.StartAsync();
        await consul.PutKeyAsync("customer-b", "old-key-0000000000000000");
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink, o => o with { KeyPrefix = true }, consul: consul.Settings());
        using var client = gw.Client();
        await Assert.That((await client.IngestAsync("old-key-0000000000000000", "web01.load 1 1700000000\n")).Status).IsEqualTo(200);

        await consul.PutKeyAsync("customer-b", "new-key-1111111111111111");
        await UntilStatusAsync(client, "new-key-1111111111111111", 200);

        await Assert.That((await client.PingAsync("old-key-0000000000000000")).Status).IsEqualTo(401);
        await Assert.That((await client.IngestAsync("new-key-1111111111111111", "web02.load 2 1700000000\n")).Status).IsEqualTo(200);
        await Assert.That(await sink.WaitForAsync(2)).IsTrue();
        await Assert.That(string.Join("|", await sink.SettleAsync())).IsEqualTo("customer-b.web01.load 1 1700000000|customer-b.web02.load 2 1700000000");
        await Assert.That(await Poll.UntilAsync(() => gw.Logs.All.Contains("0 new, 0 removed, 1 regenerated"), TimeSpan.FromSeconds(30))).IsTrue();
    }

    [Test]
    public async Task Consul_killed_keeps_the_cache_logs_once_and_restarted_consul_is_picked_up()
    {
        await using var consul = await ConsulAgent.StartAsync();
        await consul.PutKeyAsync("survivor", "cached-key-222222222222");
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink, consul: consul.Settings());
        using var client = gw.Client();
        await Assert.That((await client.PingAsync("cached-key-222222222222")).Status).IsEqualTo(200);

        await consul.KillAsync();
        // Logged once, checked after retries that surely happened: the outage is logged, then the dead agent's
        // port takes three more key reads (and resets them) before the count is taken.
        await Assert.That(await Poll.UntilAsync(() => gw.Logs.All.Contains("Consul key sync failing"), TimeSpan.FromSeconds(30))).IsTrue();
        await using (var dead = new ResettingListener(consul.HttpPort))
            await Assert.That(await Poll.UntilAsync(() => dead.Requests("/v1/kv/" + ConsulAgent.Prefix) >= 3, TimeSpan.FromSeconds(60))).IsTrue();
        var duringOutage = await client.PingAsync("cached-key-222222222222");
        int outageLogs = gw.Logs.Lines.Count(l => l.Contains("Consul key sync failing"));

        await consul.RestartAsync(); // a dev agent restarts empty, with a smaller index
        await consul.PutKeyAsync("newcomer", "fresh-key-33333333333333");
        var pickedUp = await UntilStatusAsync(client, "fresh-key-33333333333333", 200);

        await Assert.That(duringOutage.Status).IsEqualTo(200);
        await Assert.That(outageLogs).IsEqualTo(1);
        await Assert.That(gw.Logs.All).Contains("Consul key sync recovered after");
        await Assert.That(pickedUp).IsLessThan(TimeSpan.FromSeconds(8));
        Console.WriteLine($"after restart, new key accepted in {pickedUp.TotalMilliseconds:0} ms");
    }

    [Test]
    public async Task Consul_down_at_start_refuses_every_key_then_picks_keys_up_when_it_comes()
    {
        var consul = await ConsulAgent.StartAsync();
        var settings = consul.Settings();
        await consul.KillAsync();
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink, consul: settings);
        using var client = gw.Client();

        await Assert.That((await client.PingAsync("later-key-4444444444444")).Status).IsEqualTo(401);
        await Assert.That(gw.Logs.All).Contains("Started without API keys: every key is refused until Consul answers");
        await Assert.That(gw.App.ConsulKeys!.Status.Reachable).IsFalse();

        await consul.RestartAsync();
        await consul.PutKeyAsync("late", "later-key-4444444444444");
        await UntilStatusAsync(client, "later-key-4444444444444", 200);
        await Assert.That(gw.App.ConsulKeys!.Status.Reachable).IsTrue();
        await consul.DisposeAsync();
    }

    [Test]
    public async Task Folder_entry_short_names_empty_values_and_shared_keys_are_handled()
    {
        await using var consul = await ConsulAgent.StartAsync();
        await consul.PutAsync(ConsulAgent.Prefix, null);                  // the folder entry itself
        await consul.PutKeyAsync("a", "short-name-key-55555555");         // a one-letter name
        await consul.PutKeyAsync("empty", "");                            // empty value
        await consul.PutKeyAsync("twin-1", "shared-key-66666666666666");
        await consul.PutKeyAsync("twin-2", "shared-key-66666666666666");
        await consul.PutKeyAsync("padded", "padded-key-777777777777\n");  // written from a file
        await consul.PutAsync("polymur/gateway/keysX/other", "not-under-the-prefix-00");
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink, consul: consul.Settings());
        using var client = gw.Client();

        await Assert.That((await client.PingAsync("short-name-key-55555555")).Status).IsEqualTo(200);
        await Assert.That((await client.PingAsync("padded-key-777777777777")).Status).IsEqualTo(200);
        await Assert.That((await client.PingAsync("shared-key-66666666666666")).Status).IsEqualTo(401);
        await Assert.That((await client.PingAsync("not-under-the-prefix-00")).Status).IsEqualTo(401);
        await Assert.That((await client.PingAsync("")).Status).IsEqualTo(401);
        await Assert.That(gw.App.Keys.Count).IsEqualTo(2);
        await Assert.That(gw.Logs.All).Contains("names twin-1, twin-2 hold the same key; it is refused until they differ");
        await Assert.That(gw.Logs.All).Contains("polymur/gateway/keys/empty: no key value; refused");
        await Assert.That(gw.Logs.All).DoesNotContain("shared-key-66666666666666");

        await consul.PutKeyAsync("twin-2", "now-different-888888888");
        await UntilStatusAsync(client, "shared-key-66666666666666", 200);
    }

    [Test]
    public async Task Deleting_the_last_key_empties_the_cache()
    {
        await using var consul = await ConsulAgent.StartAsync();
        await consul.PutKeyAsync("only", "only-key-9999999999999");
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink, consul: consul.Settings());
        using var client = gw.Client();
        await Assert.That((await client.PingAsync("only-key-9999999999999")).Status).IsEqualTo(200);

        await consul.DeleteKeyAsync("only");

        await UntilStatusAsync(client, "only-key-9999999999999", 401);
        await Assert.That(gw.App.Keys.Count).IsEqualTo(0);
    }

    internal static async Task<TimeSpan> UntilStatusAsync(ProxyClient client, string key, int status, TimeSpan? limit = null)
    {
        var clock = Stopwatch.StartNew();
        var deadline = limit ?? TimeSpan.FromSeconds(30);
        while (clock.Elapsed < deadline)
        {
            if ((await client.PingAsync(key)).Status == status)
                return clock.Elapsed;
            await Task.Delay(10);
        }
        throw new TimeoutException($"/ping with the key did not answer {status} within {deadline.TotalSeconds}s");
    }
}
