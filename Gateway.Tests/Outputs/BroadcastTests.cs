using Polymur.Gateway.Outputs;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Outputs;

public class BroadcastTests
{
    [Test]
    public async Task Every_line_reaches_every_destination_exactly_once()
    {
        await using var a = TcpSink.Start();
        await using var b = TcpSink.Start();
        await using var c = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync([a, b, c], o => o with { OutgoingQueueCap = 1_000_000 });
        using var client = gw.Client();

        var sent = new List<string>();
        var posts = Enumerable.Range(0, 8).Select(async i =>
        {
            string lines = ProxyClient.Lines($"batch{i}", 5000);
            lock (sent)
                sent.AddRange(lines.TrimEnd('\n').Split('\n'));
            return (await client.IngestAsync("123", lines)).Status;
        });
        var statuses = await Task.WhenAll(posts);

        await Assert.That(statuses.All(s => s == 200)).IsTrue();
        foreach (var sink in new[] { a, b, c })
        {
            await Assert.That(await sink.WaitForAsync(40_000)).IsTrue();
            var got = await sink.SettleAsync();
            await Assert.That(got.Count).IsEqualTo(40_000);
            await Assert.That(got.Order(StringComparer.Ordinal).SequenceEqual(sent.Order(StringComparer.Ordinal))).IsTrue();
        }
        foreach (var d in gw.App.Destinations.Current)
        {
            await Assert.That(d.Counters.Delivered).IsEqualTo(40_000);
            await Assert.That(d.Counters.DroppedTotal).IsEqualTo(0);
        }
        // One pooled batch per request, shared by the three queues, all returned.
        await Assert.That(gw.App.Inflight.Count).IsEqualTo(0);
    }

    [Test]
    public async Task Writes_are_batched_many_lines_per_connection_write()
    {
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink);
        using var client = gw.Client();

        for (int i = 0; i < 5; i++)
            await client.IngestAsync("123", ProxyClient.Lines($"b{i}", 5000));

        await Assert.That(await sink.WaitForAsync(25_000)).IsTrue();
        await Assert.That(sink.Connections).IsEqualTo(1);
    }

    [Test]
    public async Task Console_out_prints_lines_to_stdout_instead_of_sending()
    {
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink, o => o with { ConsoleOut = true });
        using var client = gw.Client();

        await client.IngestAsync("123", "a.b 1 1700000000\nc.d 2 1700000000");
        await gw.App.StopAsync();

        await Assert.That(System.Text.Encoding.UTF8.GetString(gw.Stdout.ToArray())).IsEqualTo("a.b 1 1700000000\nc.d 2 1700000000\n");
        await Assert.That(sink.Connections).IsEqualTo(0);
    }
}
