using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Keys;

/// <summary>Consul with ACLs on and default deny: the gateway reads with its token, and a hidden list is not an empty one.</summary>
public class ConsulAclTests
{
    private const string ReadKeys = """key_prefix "polymur/gateway/keys/" { policy = "read" }""";

    [Test]
    public async Task A_token_that_can_read_the_prefix_gets_the_keys()
    {
        await using var consul = await ConsulAgent.StartAsync(acl: true);
        await consul.PutKeyAsync("acl-user", "acl-key-aaaaaaaaaaaaaaa");
        string token = await consul.CreateTokenAsync(ReadKeys);
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink, consul: consul.Settings(token));
        using var client = gw.Client();

        await Assert.That((await client.PingAsync("acl-key-aaaaaaaaaaaaaaa")).Status).IsEqualTo(200);
        await Assert.That(gw.Logs.All).DoesNotContain(token);
    }

    [Test]
    public async Task A_token_that_cannot_read_gets_no_keys_and_every_key_is_refused()
    {
        await using var consul = await ConsulAgent.StartAsync(acl: true);
        await consul.PutKeyAsync("acl-user", "acl-key-bbbbbbbbbbbbbbb");
        string token = await consul.CreateTokenAsync("");
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink, consul: consul.Settings(token));
        using var client = gw.Client();

        await Assert.That((await client.PingAsync("acl-key-bbbbbbbbbbbbbbb")).Status).IsEqualTo(401);
        await Assert.That(gw.App.Keys.Count).IsEqualTo(0);
    }

    [Test]
    public async Task Losing_read_permission_does_not_purge_the_cache()
    {
        await using var consul = await ConsulAgent.StartAsync(acl: true);
        await consul.PutKeyAsync("acl-user", "acl-key-ccccccccccccccc");
        var (token, accessor) = await consul.CreateTokenWithAccessorAsync(ReadKeys);
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink, consul: consul.Settings(token));
        using var client = gw.Client();
        await Assert.That((await client.PingAsync("acl-key-ccccccccccccccc")).Status).IsEqualTo(200);

        // Take the token's permission away: from now on Consul filters the list to nothing (a 404) for it.
        await consul.RevokePoliciesAsync(accessor, token);
        // A change under the prefix wakes the gateway's blocking query. Consul resolves a blocking query's
        // permissions when it starts, so it takes a second change for a query made with the revoked token.
        await consul.PutKeyAsync("someone-else", "other-key-ddddddddddddd");
        // The second change must come after the gateway took the first. If its query was made before the
        // revocation, the first change lists the new key (accepted); if it was made after, the first change already
        // comes back filtered and the gateway logs that it keeps its keys. Either is waited for, not a fixed 500 ms.
        const string kept = "Consul listed no keys, but the token may not read the keys (403); keeping the";
        await Assert.That(await Poll.UntilAsync(async () => gw.Logs.All.Contains(kept)
            || (await client.PingAsync("other-key-ddddddddddddd")).Status == 200, TimeSpan.FromSeconds(30))).IsTrue();
        if (!gw.Logs.All.Contains(kept))
            await consul.PutKeyAsync("yet-another", "other-key-eeeeeeeeeeeee");
        await Poll.UntilAsync(() => gw.Logs.All.Contains(kept), TimeSpan.FromSeconds(30));

        await Assert.That(gw.Logs.All).Contains(kept);
        await Assert.That((await client.PingAsync("acl-key-ccccccccccccccc")).Status).IsEqualTo(200);
    }
}
