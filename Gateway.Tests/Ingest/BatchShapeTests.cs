using Polymur.Gateway.Keys;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Ingest;

/// <summary>The shapes real proxies send: multi-member bodies, idle empty batches, CR LF, stray blank lines.</summary>
public class BatchShapeTests
{
    [Test]
    public async Task Concatenated_members_are_read_whole_in_order()
    {
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink);
        using var client = gw.Client();
        byte[] body = [.. ProxyClient.Gzip(ProxyClient.Lines("first", 3000)), .. ProxyClient.GoEmptyMember, .. ProxyClient.Gzip(ProxyClient.Lines("second", 2000))];

        var reply = await client.SendAsync("/ingest", "123", body);

        await Assert.That(reply.Status).IsEqualTo(200);
        await Assert.That(await sink.WaitForAsync(5000)).IsTrue();
        var expected = (ProxyClient.Lines("first", 3000) + ProxyClient.Lines("second", 2000)).TrimEnd('\n').Split('\n');
        await Assert.That((await sink.SettleAsync()).SequenceEqual(expected)).IsTrue();
    }

    [Test]
    public async Task Empty_batches_from_idle_proxies_are_200_and_send_nothing()
    {
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink);
        using var client = gw.Client();

        for (int i = 0; i < 20; i++)
        {
            var reply = await client.SendAsync("/ingest", "123", ProxyClient.GoEmptyMember);
            await Assert.That(reply.Status).IsEqualTo(200);
            await Assert.That(reply.Body).IsEqualTo("Batch Received\n");
        }
        await Assert.That(ProxyClient.GoEmptyMember.Length).IsEqualTo(23);
        await Assert.That(gw.App.Counters.BatchesAccepted).IsEqualTo(20);
        await Assert.That(gw.App.Counters.LinesReceived).IsEqualTo(0);
        await Assert.That(await Marker.LinesBeforeAsync(client, sink)).IsEmpty();
    }

    [Test]
    public async Task CR_is_stripped_blank_lines_skipped_final_line_kept_whole()
    {
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink);
        using var client = gw.Client();

        var reply = await client.IngestAsync("123", "a.b 1 1700000000\r\n\n\r\n  \nc.d 2 1700000001\r\nlast.one 3 1700000002");

        await Assert.That(reply.Status).IsEqualTo(200);
        await Assert.That(await sink.WaitForAsync(3)).IsTrue();
        await Assert.That(string.Join("|", await sink.SettleAsync())).IsEqualTo("a.b 1 1700000000|c.d 2 1700000001|last.one 3 1700000002");
        await Assert.That(gw.App.Counters.LinesInvalid).IsEqualTo(0);
    }

    [Test]
    public async Task Invalid_lines_are_dropped_and_counted_and_valid_neighbours_delivered()
    {
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink);
        using var client = gw.Client();

        var reply = await client.IngestAsync("123", "ok.1 1 1700000000\nno-space\nok.2 2 1700000000\nbad.value x 1700000000\nbad.nan nan 1\nfour 1 2 3\nok.3 3 1700000000\n");

        await Assert.That(reply.Status).IsEqualTo(200);
        await Assert.That(await sink.WaitForAsync(3)).IsTrue();
        await Assert.That(string.Join("|", await sink.SettleAsync())).IsEqualTo("ok.1 1 1700000000|ok.2 2 1700000000|ok.3 3 1700000000");
        await Assert.That(gw.App.Counters.LinesReceived).IsEqualTo(7);
        await Assert.That(gw.App.Counters.LinesInvalid).IsEqualTo(4);
    }

    [Test]
    public async Task Key_prefix_prepends_the_key_name()
    {
        await using var sink = TcpSink.Start();
        var keys = new StaticKeyCache(KeySnapshot.From([("customer-a", "key-of-customer-a-0123456789")]));
        await using var gw = await TestGateway.StartAsync(sink, o => o with { KeyPrefix = true }, keys);
        using var client = gw.Client();

        var reply = await client.IngestAsync("key-of-customer-a-0123456789", "web01.app.rate 1 1700000000\r\n  web02.app.rate 2 1700000000\nbad\n");

        await Assert.That(reply.Status).IsEqualTo(200);
        await Assert.That(await sink.WaitForAsync(2)).IsTrue();
        await Assert.That(string.Join("|", await sink.SettleAsync()))
            .IsEqualTo("customer-a.web01.app.rate 1 1700000000|customer-a.web02.app.rate 2 1700000000");
    }

    [Test]
    public async Task Without_key_prefix_lines_are_not_renamed()
    {
        await using var sink = TcpSink.Start();
        var keys = new StaticKeyCache(KeySnapshot.From([("customer-a", "key-of-customer-a-0123456789")]));
        await using var gw = await TestGateway.StartAsync(sink, keys: keys);
        using var client = gw.Client();

        await client.IngestAsync("key-of-customer-a-0123456789", "web01.app.rate 1 1700000000\n");

        await Assert.That(await sink.WaitForAsync(1)).IsTrue();
        await Assert.That(sink.Lines[0]).IsEqualTo("web01.app.rate 1 1700000000");
    }

    [Test]
    public async Task Logs_name_the_client_the_forwarded_for_value_and_the_key_name_never_the_key()
    {
        await using var sink = TcpSink.Start();
        var keys = new StaticKeyCache(KeySnapshot.From([("customer-a", "secretsecretsecret-4242")]));
        await using var gw = await TestGateway.StartAsync(sink, keys: keys);
        using var client = gw.Client();

        await client.SendAsync("/ping", "secretsecretsecret-4242", [], r => r.Headers.Add("X-Forwarded-For", "203.0.113.7"));
        await client.SendAsync("/ingest", "secretsecretsecret-4242", ProxyClient.Gzip("a 1 1\n"), r => r.Headers.Add("X-Forwarded-For", "203.0.113.7"));
        await client.SendAsync("/ping", "wrongwrongwrongwrong-99", [], r => r.Headers.Add("X-Forwarded-For", "198.51.100.9"));

        string logs = gw.Logs.All;
        await Assert.That(logs).Contains("Ping from 127.0.0.1:");
        await Assert.That(logs).Contains("X-Forwarded-For 203.0.113.7), key name customer-a");
        await Assert.That(logs).Contains("Batch from 127.0.0.1:");
        await Assert.That(logs).Contains("Invalid key wron…(23 chars)");
        await Assert.That(logs).Contains("X-Forwarded-For 198.51.100.9");
        await Assert.That(logs).DoesNotContain("secretsecretsecret-4242");
        await Assert.That(logs).DoesNotContain("wrongwrongwrongwrong-99");
    }
}
