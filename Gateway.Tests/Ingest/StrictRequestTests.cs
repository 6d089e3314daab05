using System.Net.Sockets;
using System.Text;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Ingest;

/// <summary>Requests a client can repeat at will get short, exact answers and cost at most a rate-limited log line.</summary>
public class StrictRequestTests
{
    private static async Task<string> RawAsync(string address, string request)
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync("127.0.0.1", new Uri(address).Port);
        await socket.SendAsync(Encoding.ASCII.GetBytes(request));
        var buffer = new byte[4096];
        int n = await socket.ReceiveAsync(buffer, SocketFlags.None);
        return Encoding.ASCII.GetString(buffer, 0, n);
    }

    [Test]
    public async Task A_chunk_size_past_64_bits_is_400_with_one_short_log_line()
    {
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink);

        var answer = await RawAsync(gw.HttpAddress, "POST /ingest HTTP/1.1\r\nHost: x\r\nX-Polymur-Key: 123\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffffff\r\nabc\r\n");

        await Assert.That(answer).StartsWith("HTTP/1.1 400");
        await Assert.That(answer).Contains("Batch Malformed");
        await Assert.That(gw.Logs.Lines.Count(l => l.Contains("Broken request body"))).IsEqualTo(1);
        await Assert.That(gw.Logs.All).DoesNotContain("   at ");
        await Assert.That(gw.App.Counters.Refused(400)).IsEqualTo(1);
    }

    [Test]
    [Arguments("/INGEST")]
    [Arguments("/Ingest")]
    [Arguments("/PING")]
    [Arguments("/ping/")]
    [Arguments("/DESTINATIONS")]
    public async Task Paths_are_case_sensitive_and_exact(string path)
    {
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink);
        string address = path == "/DESTINATIONS" ? gw.App.AdminAddress : gw.HttpAddress;

        var answer = await RawAsync(address, $"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Polymur-Key: 123\r\nContent-Length: 0\r\n\r\n");
        var exact = await RawAsync(gw.HttpAddress, "POST /ping HTTP/1.1\r\nHost: x\r\nX-Polymur-Key: 123\r\nContent-Length: 0\r\n\r\n");

        await Assert.That(answer).StartsWith("HTTP/1.1 404");
        await Assert.That(exact).StartsWith("HTTP/1.1 200");
    }

    [Test]
    public async Task Pings_and_malformed_batches_are_logged_at_most_once_per_interval()
    {
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink);
        using var client = gw.Client();

        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (int i = 0; i < 50; i++)
        {
            await Assert.That((await client.PingAsync("123")).Status).IsEqualTo(200);
            await Assert.That((await client.SendAsync("/ingest", "123", "not gzip"u8.ToArray())).Status).IsEqualTo(400);
        }

        // One line per 5 s interval the 50 took: one here, a few more only where a slow machine took that long.
        int intervals = 1 + (int)(clock.Elapsed.TotalSeconds / 5);
        await Assert.That(gw.Logs.Lines.Count(l => l.Contains("Ping from"))).IsBetween(1, intervals);
        await Assert.That(gw.Logs.Lines.Count(l => l.Contains("Malformed batch from"))).IsBetween(1, intervals);
    }
}
