using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Ingest;

/// <summary>Authorization: Bearer as a second way to present the key, against the real gateway.</summary>
public class BearerKeyTests
{
    private static Action<HttpRequestMessage> Header(string name, string value) =>
        r => r.Headers.TryAddWithoutValidation(name, value);

    [Test]
    public async Task A_bearer_token_is_a_key_and_two_different_keys_are_none()
    {
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink);
        using var client = gw.Client();
        byte[] body = ProxyClient.Gzip("bearer.a 1 1700000000\n");

        await Assert.That((await client.SendAsync("/ingest", null, body, Header("Authorization", "Bearer 123"))).Status).IsEqualTo(200);
        await Assert.That((await client.SendAsync("/ping", null, [], Header("Authorization", "bearer 123"))).Body).IsEqualTo("key is valid\n");
        await Assert.That((await client.SendAsync("/ingest", "123", body, Header("Authorization", "Bearer 123"))).Status).IsEqualTo(200);
        // The first refusal is logged, with the key cut to a short prefix.
        await Assert.That((await client.SendAsync("/ingest", null, body, Header("Authorization", "Bearer wrongwrongwrongwrong"))).Status).IsEqualTo(401);
        await Assert.That(gw.Logs.All).Contains("Invalid key wron…(20 chars)");
        // Another scheme is not a key, and does not get in the way of the header.
        await Assert.That((await client.SendAsync("/ingest", "123", body, Header("Authorization", "Basic MTIzOjEyMw=="))).Status).IsEqualTo(200);
        await Assert.That((await client.SendAsync("/ingest", null, body, Header("Authorization", "Basic MTIzOjEyMw=="))).Status).IsEqualTo(401);

        var conflict = await client.SendAsync("/ingest", "123", body, Header("Authorization", "Bearer 456secretsecret"));
        await Assert.That(conflict.Status).IsEqualTo(401);
        await Assert.That(conflict.Body).IsEqualTo("invalid key");
        await Assert.That((await client.SendAsync("/ingest", "999", body, Header("Authorization", "Bearer 123"))).Status).IsEqualTo(401);
        await Assert.That((await client.SendAsync("/ingest", null, body, Header("Authorization", "Bearer "))).Status).IsEqualTo(401);

        await Assert.That(await sink.WaitForAsync(3)).IsTrue();
        await Assert.That((await sink.SettleAsync()).Count).IsEqualTo(3);
        await Assert.That(gw.Logs.All).DoesNotContain("wrongwrongwrongwrong");
    }
}
