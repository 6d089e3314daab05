using System.Diagnostics;
using System.IO.Compression;
using System.Net.Sockets;
using System.Text;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Reliability;

/// <summary>
/// Clients without a valid key, or with one, trying to exhaust sockets and memory, against the native binary:
/// RSS stays under the bound the README states for the flags in use, and a good client's /ping is answered
/// promptly throughout.
/// </summary>
[Category("hostile")]
[NotInParallel]
public class ExhaustionTests
{
    /// <summary>README, Memory: the bound as a formula of the flags, at their defaults on this host.</summary>
    private static long DefaultBound()
    {
        long decodes = Math.Max(4, 2 * Environment.ProcessorCount), batch = 64L << 20, batchMemory = 256L << 20, body = 16L << 20, connections = 1024;
        return (64L << 20) + batchMemory + (64L << 20) + decodes * (batch + 1) + decodes * body + connections * PerConnectionBytes;
    }

    /// <summary>README, Memory: what one HTTP/1.1 connection can make the gateway hold (buffers, Kestrel's state, slack).</summary>
    private const long PerConnectionBytes = 160 << 10;

    private static string[] Args(string destination, params string[] more) =>
        ["-dev-mode", "-listen-addr", "127.0.0.1", "-listen-http-port", "0", "-destinations", destination, "-summary-interval", "0", .. more];

    private static GatewayProcess StartLimited(int openFiles, string[] args) =>
        GatewayProcess.Start("/usr/bin/prlimit", [$"--nofile={openFiles}:{openFiles}", "--", GatewayProcess.NativeBinary, .. args]);

    /// <summary>Five pings from a good client, one after another; each one's time in milliseconds.</summary>
    private static async Task<double[]> PingTimesAsync(string address)
    {
        using var client = new ProxyClient(address);
        var times = new double[5];
        for (int i = 0; i < times.Length; i++)
        {
            var watch = Stopwatch.StartNew();
            var reply = await client.PingAsync("123");
            times[i] = watch.Elapsed.TotalMilliseconds;
            if (reply.Status != 200)
                times[i] = double.PositiveInfinity;
        }
        return times;
    }

    private static async Task<List<Socket>> ConnectAsync(int port, int count, int receiveBuffer = 0)
    {
        var sockets = new List<Socket>();
        for (int i = 0; i < count; i++)
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
            if (receiveBuffer > 0)
                socket.ReceiveBufferSize = receiveBuffer;
            await socket.ConnectAsync("127.0.0.1", port);
            sockets.Add(socket);
        }
        return sockets;
    }

    /// <summary>Opens <paramref name="count"/> connections, each sending <paramref name="request"/> without reading.</summary>
    private static async Task<(List<Socket> Sockets, List<Task> Writers)> FloodAsync(int port, int count, byte[] request, CancellationToken token)
    {
        var sockets = await ConnectAsync(port, count, receiveBuffer: 4096);
        var writers = sockets.Select(async s =>
        {
            try
            {
                await s.SendAsync(request, SocketFlags.None, token);
            }
            catch (Exception)
            {
                // The gateway stopped reading, or cut the connection: both are the point.
            }
        }).ToList();
        return (sockets, writers);
    }

    private static async Task AssertPromptAsync(double[] pings, string attack)
    {
        Console.WriteLine($"{attack}: good client's pings {string.Join(", ", pings.Select(p => $"{p:0.0}"))} ms");
        await Assert.That(pings.All(double.IsFinite)).IsTrue();
        await Assert.That(pings.Order().ElementAt(pings.Length / 2)).IsLessThan(100.0);
    }

    [Test]
    public async Task Silent_sockets_past_the_open_file_limit_leave_room_for_a_good_client()
    {
        await using var sink = TcpSink.Start();
        await using var gw = StartLimited(1200, Args(sink.Address));
        string address = await gw.WaitForHttpAsync();
        await using var rss = new RssSampler(gw.Id);

        var silent = await ConnectAsync(new Uri(address).Port, 1300);
        // The flood has landed once the gateway, at its 1024 connections, has evicted the 276 beyond them.
        await Assert.That(await Poll.UntilAsync(() => silent.Count(ClosedByPeer) >= 1300 - 1024, TimeSpan.FromSeconds(30))).IsTrue();
        var pings = await PingTimesAsync(address);
        using var client = new ProxyClient(address);
        var ingest = await client.IngestAsync("123", "exhaust.ok 1 1700000000\n");
        silent.ForEach(s => s.Dispose());

        Console.WriteLine($"silent sockets: peak RSS {rss.Peak >> 20} MiB (bound {DefaultBound() >> 20} MiB)");
        await AssertPromptAsync(pings, "1300 silent sockets, 1200 open files");
        await Assert.That(ingest.Status).IsEqualTo(200);
        await Assert.That(await sink.WaitForAsync(1)).IsTrue();
        await Assert.That(rss.Peak).IsLessThan(DefaultBound());
    }

    /// <summary>Unknown paths (closed after the 404) and valid pings (answered, so only the buffer caps hold them).</summary>
    [Test]
    [Arguments("GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n")]
    [Arguments("POST /ping HTTP/1.1\r\nHost: x\r\nX-Polymur-Key: 123\r\nContent-Length: 0\r\n\r\n")]
    public async Task Pipelined_requests_whose_answers_are_never_read_cost_a_bounded_buffer_each(string one)
    {
        await using var sink = TcpSink.Start();
        await using var gw = GatewayProcess.Start(GatewayProcess.NativeBinary, Args(sink.Address));
        string address = await gw.WaitForHttpAsync();
        await using var rss = new RssSampler(gw.Id);
        long before = RssSampler.Of(gw.Id);

        var request = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat(one, 4_000)));
        using var writing = new CancellationTokenSource();
        var port = new Uri(address).Port;

        // Two waves: what the second adds, over its count, is the cost of one connection. The first wave's jump
        // (the GC's regions, the thread pool growing) is fixed cost, inside the formula's 64 MiB.
        // Each wave is measured once the gateway's memory has stopped growing under it, not after a fixed time:
        // a first wave measured too early would put its own cost on the second's connections.
        var (first, firstWriters) = await FloodAsync(port, 100, request, writing.Token);
        await Assert.That(await rss.SettledAsync(TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(60))).IsTrue();
        long afterFirst = rss.Peak;
        var (second, secondWriters) = await FloodAsync(port, 400, request, writing.Token);
        await Assert.That(await rss.SettledAsync(TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(60))).IsTrue();
        long during = RssSampler.Of(gw.Id);
        var pings = await PingTimesAsync(address);
        writing.Cancel();
        await Task.WhenAll(firstWriters.Concat(secondWriters));
        first.Concat(second).ToList().ForEach(s => s.Dispose());
        await Task.Delay(3000); // pacing for the printed "after" figure only; nothing is asserted on it
        long after = RssSampler.Of(gw.Id);

        long perConnection = (rss.Peak - afterFirst) / second.Count;
        Console.WriteLine($"pipelined unread ({one.Split(' ')[1]}): RSS {before >> 20} MiB before, {afterFirst >> 20} MiB with 100 connections, {during >> 20} MiB with 500, peak {rss.Peak >> 20} MiB, {after >> 20} MiB 3 s after; {perConnection >> 10} KiB per connection (bound {DefaultBound() >> 20} MiB)");
        if (one.StartsWith("GET /nothing", StringComparison.Ordinal))
        {
            await AssertPromptAsync(pings, "500 connections pipelining unread requests for an unknown path");
        }
        else
        {
            // A client with a valid key flooding pings is a busy tenant, not a memory attack: answered, but it
            // competes for the core (measured 200-400 ms). Per-tenant rate limits are what bound that.
            Console.WriteLine($"500 connections pipelining unread valid pings: good client's pings {string.Join(", ", pings.Select(p => $"{p:0.0}"))} ms");
            await Assert.That(pings.All(double.IsFinite)).IsTrue();
        }
        await Assert.That(rss.Peak).IsLessThan(DefaultBound());
        await Assert.That(perConnection).IsLessThan(PerConnectionBytes);
    }

    [Test]
    public async Task Small_bodies_that_inflate_to_40_MiB_towards_a_stalled_destination_stay_within_the_batch_memory()
    {
        await using var stalled = new StalledSink();
        await using var gw = GatewayProcess.Start(GatewayProcess.NativeBinary, Args($"127.0.0.1:{stalled.Port}"));
        string address = await gw.WaitForHttpAsync();
        await using var rss = new RssSampler(gw.Id);

        byte[] body = Bomb(40 << 20);
        Console.WriteLine($"batch bomb: {body.Length >> 10} KiB inflating to 40 MiB");
        using var http = new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromSeconds(60) };
        var statuses = Enumerable.Range(0, 12).Select(async _ =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/ingest") { Content = new ByteArrayContent(body) };
            request.Headers.Add("X-Polymur-Key", "123");
            using var response = await http.SendAsync(request);
            return (int)response.StatusCode;
        }).ToList();
        // Pinged while the bodies are being held: once one of them has inflated (RSS up by its 40 MiB), not after
        // a time a slow machine could spend before any had arrived.
        long start = RssSampler.Of(gw.Id);
        await Assert.That(await Poll.UntilAsync(() => rss.Peak >= start + (40L << 20), TimeSpan.FromSeconds(30))).IsTrue();
        var pings = await PingTimesAsync(address);
        var answers = await Task.WhenAll(statuses);

        Console.WriteLine($"batch bomb: answers {string.Join(",", answers.GroupBy(a => a).Select(g => $"{g.Key}x{g.Count()}"))}; peak RSS {rss.Peak >> 20} MiB (bound {DefaultBound() >> 20} MiB)");
        await AssertPromptAsync(pings, "12 bodies of 40 MiB towards a stalled destination");
        await Assert.That(answers.All(a => a is 200 or 503)).IsTrue();
        await Assert.That(answers.Count(a => a == 503)).IsGreaterThan(0);
        await Assert.That(rss.Peak).IsLessThan(DefaultBound());
    }

    /// <summary>
    /// The budget itself, where the formula's fixed terms cannot hide it: batches of 15 MiB use pooled buffers
    /// (no exact-size ones kept), so what the gateway grows by is the batches it holds, at most
    /// -max-batch-memory, plus the pool's free buffers. Without the budget, all twelve are held at once.
    /// </summary>
    [Test]
    public async Task Batches_waiting_for_a_stalled_destination_hold_no_more_than_the_batch_memory()
    {
        await using var stalled = new StalledSink();
        await using var gw = GatewayProcess.Start(GatewayProcess.NativeBinary,
            Args($"127.0.0.1:{stalled.Port}", "-max-batch-size", "16MiB", "-max-batch-memory", "48MiB"));
        string address = await gw.WaitForHttpAsync();
        // Idle once its start-up has stopped growing its memory, however long that takes here.
        await using (var starting = new RssSampler(gw.Id))
            await Assert.That(await starting.SettledAsync(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30))).IsTrue();
        long idle = RssSampler.Of(gw.Id);
        await using var rss = new RssSampler(gw.Id);

        byte[] body = Bomb(15 << 20);
        using var http = new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromSeconds(60) };
        var answers = await Task.WhenAll(Enumerable.Range(0, 12).Select(async _ =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/ingest") { Content = new ByteArrayContent(body) };
            request.Headers.Add("X-Polymur-Key", "123");
            using var response = await http.SendAsync(request);
            return (int)response.StatusCode;
        }));

        long growth = rss.Peak - idle;
        Console.WriteLine($"batch budget 48 MiB: answers {string.Join(",", answers.GroupBy(a => a).Select(g => $"{g.Key}x{g.Count()}"))}; RSS {idle >> 20} MiB idle, peak {rss.Peak >> 20} MiB, grew {growth >> 20} MiB");
        await Assert.That(answers.Count(a => a == 503)).IsGreaterThan(0);
        await Assert.That(growth).IsLessThan((48L << 20) + (64L << 20) + (32L << 20));
    }

    [Test]
    public async Task Running_out_of_file_descriptors_does_not_take_telemetry_or_the_exit_code_down()
    {
        await using var sink = TcpSink.Start();
        await using var gw = StartLimited(120, Args(sink.Address, "-summary-interval", "100ms"));
        string address = await gw.WaitForHttpAsync();

        var sockets = new List<Socket>();
        try
        {
            sockets = await ConnectAsync(new Uri(address).Port, 200);
        }
        catch (SocketException)
        {
        }
        // Several summary ticks (one per 100 ms) with no descriptor left: counted in lines, not slept for.
        int summaries = SummaryLines(gw);
        await Assert.That(await Poll.UntilAsync(() => SummaryLines(gw) >= summaries + 5, TimeSpan.FromSeconds(30))).IsTrue();
        sockets.ForEach(s => s.Dispose());
        // Answered again once the closes have given it descriptors back: asked until then.
        using var client = new ProxyClient(address);
        Reply ping = null!;
        await Poll.UntilAsync(async () =>
        {
            try
            {
                return (ping = await client.PingAsync("123")).Status == 200;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(30));
        gw.Signal(GatewayProcess.SIGTERM);
        int code = await gw.WaitForExitAsync(TimeSpan.FromSeconds(20));

        await Assert.That(ping.Status).IsEqualTo(200);
        await Assert.That(code).IsEqualTo(0);
        await Assert.That(gw.Stderr).DoesNotContain("Unhandled exception");
        await Assert.That(gw.Stderr).Contains("-max-connections 1024 does not fit the open-file limit 120");
    }

    private static int SummaryLines(GatewayProcess gw) => gw.Stderr.Split('\n').Count(l => l.Contains("Summary: ", StringComparison.Ordinal));

    // True once the gateway has closed the socket (a read would return 0) or reset it.
    private static bool ClosedByPeer(Socket socket)
    {
        try
        {
            return socket.Poll(0, SelectMode.SelectRead) && socket.Available == 0;
        }
        catch (SocketException)
        {
            return true;
        }
    }

    // Repeated short lines: gzip makes 40 MiB of them about 100 KB on the wire.
    private static byte[] Bomb(int inflated)
    {
        var line = Encoding.ASCII.GetBytes("bomb.m 1 1700000000\n");
        var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            for (int written = 0; written + line.Length <= inflated; written += line.Length)
                gzip.Write(line);
        }
        return output.ToArray();
    }
}
