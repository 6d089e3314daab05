using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Ingest;

/// <summary>Every row of the facts file's answer table, over HTTP to the real app, lines checked at a real sink.</summary>
public class AnswerTableTests
{
    [Test]
    public async Task Ping_with_valid_key_is_200_key_is_valid()
    {
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink);
        using var client = gw.Client();

        var reply = await client.PingAsync("123");

        await Assert.That(reply.Status).IsEqualTo(200);
        await Assert.That(reply.Body).IsEqualTo("key is valid\n");
    }

    [Test]
    [Arguments("/ping", "wrong")]
    [Arguments("/ping", null)]
    [Arguments("/ingest", "wrong")]
    [Arguments("/ingest", null)]
    [Arguments("/ingest", "")]
    public async Task Unknown_or_missing_key_is_401_invalid_key_and_closes(string path, string? key)
    {
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink);
        using var client = gw.Client();

        var reply = await client.SendAsync(path, key, ProxyClient.Gzip("a.b 1 1700000000\n"));

        await Assert.That(reply.Status).IsEqualTo(401);
        await Assert.That(reply.Body).IsEqualTo("invalid key");
        await Assert.That(reply.ConnectionClose).IsTrue();
        await Assert.That(gw.App.Counters.Refused(401)).IsEqualTo(1);
        await Assert.That(await Marker.LinesBeforeAsync(client, sink)).IsEmpty();
    }

    [Test]
    public async Task Key_header_name_is_matched_case_insensitively()
    {
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink);
        using var client = gw.Client();

        foreach (var name in new[] { "X-Polymur-Key", "x-polymur-key", "X-POLYMUR-KEY" })
        {
            var reply = await client.SendAsync("/ping", null, [], r => r.Headers.TryAddWithoutValidation(name, "123"));
            await Assert.That(reply.Status).IsEqualTo(200);
        }
    }

    [Test]
    public async Task Ingest_valid_batch_is_200_and_lines_arrive_byte_for_byte()
    {
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink);
        using var client = gw.Client();
        string lines = ProxyClient.Lines("web01.app", 5000);

        var reply = await client.IngestAsync("123", lines);

        await Assert.That(reply.Status).IsEqualTo(200);
        await Assert.That(reply.Body).IsEqualTo("Batch Received\n");
        await Assert.That(await sink.WaitForAsync(5000)).IsTrue();
        await Assert.That(string.Join("", (await sink.SettleAsync()).Select(l => l + "\n"))).IsEqualTo(lines);
    }

    [Test]
    public async Task Any_method_is_accepted_on_the_exact_paths()
    {
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink);
        using var client = gw.Client();

        var put = await client.SendAsync("/ingest", "123", ProxyClient.Gzip("m.put 1 1700000000\n"), r => r.Method = HttpMethod.Put);
        var get = await client.SendAsync("/ping", "123", [], r => r.Method = HttpMethod.Get);
        var other = await client.SendAsync("/ingest/", "123", ProxyClient.Gzip("m.x 1 1\n"));

        await Assert.That(put.Status).IsEqualTo(200);
        await Assert.That(get.Status).IsEqualTo(200);
        await Assert.That(other.Status).IsEqualTo(404);
    }

    [Test]
    [MethodDataSource(nameof(MalformedBodies))]
    public async Task Broken_gzip_is_400_batch_malformed(string name, byte[] body)
    {
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink);
        using var client = gw.Client();

        var reply = await client.SendAsync("/ingest", "123", body);

        await Assert.That(reply.Status).IsEqualTo(400).Because(name);
        await Assert.That(reply.Body).IsEqualTo("Batch Malformed\n");
        await Assert.That(gw.App.Counters.Refused(400)).IsEqualTo(1);
        await Assert.That(await Marker.LinesBeforeAsync(client, sink)).IsEmpty();
    }

    public static IEnumerable<Func<(string, byte[])>> MalformedBodies()
    {
        var good = ProxyClient.Gzip(ProxyClient.Lines("m", 200));
        yield return () => ("plain text", "m 1 1700000000\n"u8.ToArray());
        yield return () => ("empty body", []);
        yield return () => ("truncated in the deflate data", good[..(good.Length / 2)]);
        yield return () => ("truncated trailer", good[..^3]);
        yield return () => ("bad CRC", Flip(good, good.Length - 6));
        yield return () => ("bad length", Flip(good, good.Length - 2));
        yield return () => ("trailing garbage after a member", [.. good, .. "garbage"u8.ToArray()]);
        yield return () => ("second member truncated", [.. good, .. good[..20]]);
        yield return () => ("header only", good[..10]);
    }

    private static byte[] Flip(byte[] data, int index)
    {
        var copy = (byte[])data.Clone();
        copy[index] ^= 0x55;
        return copy;
    }
}
