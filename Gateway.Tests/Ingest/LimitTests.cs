using System.Diagnostics;
using System.IO.Compression;
using System.Net.Sockets;
using System.Text;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Ingest;

/// <summary>Request-size limits: compressed body, decompressed batch (gzip bombs), and line length.</summary>
public class LimitTests
{
    [Test]
    public async Task Body_over_limit_by_content_length_is_413_naming_the_limit()
    {
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink, o => o with { MaxBodySize = 1024 });
        using var client = gw.Client();
        var body = ProxyClient.Gzip(RandomLines(2000));

        var reply = await client.SendAsync("/ingest", "123", body);

        await Assert.That(body.Length).IsGreaterThan(1024);
        await Assert.That(reply.Status).IsEqualTo(413);
        await Assert.That(reply.Body).IsEqualTo("request body over 1024 bytes (-max-body-size)\n");
        await Assert.That(gw.App.Counters.Refused(413)).IsEqualTo(1);
    }

    [Test]
    public async Task Chunked_body_over_limit_is_413()
    {
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink, o => o with { MaxBodySize = 4096 });
        var body = ProxyClient.Gzip(RandomLines(4000));
        var uri = new Uri(gw.HttpAddress);

        // Raw HTTP/1.1 so the body really is chunked, with no Content-Length to check up front. The gateway
        // answers 413 and closes as soon as the limit is passed, possibly while we are still writing (a broken
        // pipe, or a reset that swallows the answer): what it decided is in its counters either way.
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(uri.Host, uri.Port);
        var stream = tcp.GetStream();
        string response = "";
        try
        {
            var head = $"POST /ingest HTTP/1.1\r\nHost: x\r\nX-Polymur-Key: 123\r\nTransfer-Encoding: chunked\r\n\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
            for (int i = 0; i < body.Length; i += 1000)
            {
                int n = Math.Min(1000, body.Length - i);
                await stream.WriteAsync(Encoding.ASCII.GetBytes($"{n:x}\r\n"));
                await stream.WriteAsync(body.AsMemory(i, n));
                await stream.WriteAsync("\r\n"u8.ToArray());
            }
            await stream.WriteAsync("0\r\n\r\n"u8.ToArray());
        }
        catch (IOException)
        {
        }
        try
        {
            response = await new StreamReader(stream).ReadToEndAsync();
        }
        catch (IOException)
        {
        }

        await Assert.That(gw.App.Counters.Refused(413)).IsEqualTo(1);
        await Assert.That(gw.App.Counters.BatchesAccepted).IsEqualTo(0);
        if (response.Length > 0)
        {
            await Assert.That(response).StartsWith("HTTP/1.1 413");
            await Assert.That(response).Contains("request body over 4096 bytes (-max-body-size)");
        }
    }

    [Test]
    public async Task Gzip_bomb_is_413_and_memory_stays_bounded()
    {
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink, o => o with { MaxBatchSize = 8L << 20 });
        using var client = gw.Client();
        byte[] bomb = GzipBomb.Of(1L << 30); // 1 GiB of zeros in about 1 MiB

        GC.Collect();
        long before = Process.GetCurrentProcess().WorkingSet64;
        var reply = await client.SendAsync("/ingest", "123", bomb);
        long after = Process.GetCurrentProcess().WorkingSet64;

        await Assert.That(reply.Status).IsEqualTo(413);
        await Assert.That(reply.Body).IsEqualTo($"batch over {8L << 20} bytes after gunzip (-max-batch-size)\n");
        // The 1 GiB never exists: growth stays near the 8 MiB limit (with slack for the runtime and the other tests).
        await Assert.That(after - before).IsLessThan(200L << 20);
        await Assert.That(bomb.Length).IsLessThan(2 << 20);
    }

    [Test]
    public async Task Batch_exactly_at_the_limit_is_accepted()
    {
        await using var sink = TcpSink.Start();
        string lines = ProxyClient.Lines("m", 100);
        int size = Encoding.ASCII.GetByteCount(lines);
        await using var gw = await TestGateway.StartAsync(sink, o => o with { MaxBatchSize = size });
        using var client = gw.Client();

        var exact = await client.IngestAsync("123", lines);
        var over = await client.IngestAsync("123", lines + "x 1 1\n");

        await Assert.That(exact.Status).IsEqualTo(200);
        await Assert.That(over.Status).IsEqualTo(413);
        await Assert.That(await sink.WaitForAsync(100)).IsTrue();
    }

    [Test]
    public async Task Lines_over_max_line_length_are_dropped_and_counted()
    {
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink, o => o with { MaxLineLength = 64 });
        using var client = gw.Client();
        string huge = new string('x', 10_000) + " 1 1700000000\n";

        var reply = await client.IngestAsync("123", "short.one 1 1700000000\n" + huge + "short.two 2 1700000000\n");

        await Assert.That(reply.Status).IsEqualTo(200);
        await Assert.That(await sink.WaitForAsync(2)).IsTrue();
        await Assert.That(string.Join("|", await sink.SettleAsync())).IsEqualTo("short.one 1 1700000000|short.two 2 1700000000");
        await Assert.That(gw.App.Counters.LinesTooLong).IsEqualTo(1);
    }

    private static string RandomLines(int count)
    {
        var sb = new StringBuilder();
        var random = new Random(7);
        for (int i = 0; i < count; i++)
            sb.Append("host").Append(random.Next()).Append(".metric ").Append(random.NextDouble()).Append(' ').Append(1700000000 + i).Append('\n');
        return sb.ToString();
    }
}
