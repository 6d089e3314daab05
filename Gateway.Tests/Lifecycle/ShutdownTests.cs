using System.Collections.Concurrent;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Lifecycle;

/// <summary>SIGTERM on a real gateway process: stop accepting, deliver what was accepted, exit 0.</summary>
[Category("faults")]
public class ShutdownTests
{
    private static string[] Args(int sinkPort, string drain) =>
        ["-dev-mode", "-listen-addr", "127.0.0.1", "-listen-http-port", "0", "-destinations", $"127.0.0.1:{sinkPort}",
         "-drain-timeout", drain, "-outgoing-queue-cap", "1000000"];

    [Test]
    public async Task Sigterm_drains_queued_points_to_a_destination_that_comes_back()
    {
        var reserved = TcpSink.Start();
        int port = reserved.Port;
        await reserved.DisposeAsync();
        await using var gw = GatewayProcess.Start(GatewayProcess.JitBinary, Args(port, "30s"));
        using var client = new ProxyClient(await gw.WaitForHttpAsync());

        for (int i = 0; i < 10; i++)
            await Assert.That((await client.IngestAsync("123", ProxyClient.Lines($"q{i}", 5000))).Status).IsEqualTo(200);
        gw.Signal(GatewayProcess.SIGTERM);
        await Assert.That(await gw.WaitForLogAsync("draining 50000 queued points", TimeSpan.FromSeconds(30))).IsTrue();

        await using var sink = TcpSink.Start(port);
        int code = await gw.WaitForExitAsync(TimeSpan.FromSeconds(30));

        await Assert.That(code).IsEqualTo(0);
        // It has exited: once the sink has read to the end of its connections, it has everything there is.
        await Assert.That(await sink.WaitForEndAsync(50_000, TimeSpan.FromSeconds(30))).IsNotNull();
        await Assert.That(sink.Count).IsEqualTo(50_000);
        await Assert.That(gw.Stderr).Contains("Stopped: 50000 lines accepted in 10 batches; 50000 points delivered, 0 dropped in all");
    }

    [Test]
    public async Task Sigterm_under_load_loses_no_accepted_line()
    {
        await using var sink = TcpSink.Start();
        await using var gw = GatewayProcess.Start(GatewayProcess.JitBinary, Args(sink.Port, "20s"));
        using var client = new ProxyClient(await gw.WaitForHttpAsync());
        var accepted = new ConcurrentBag<string>();
        using var stop = new CancellationTokenSource();

        async Task Sender(int id)
        {
            for (int n = 0; !stop.IsCancellationRequested; n++)
            {
                string lines = ProxyClient.Lines($"s{id}.b{n}", 2000);
                try
                {
                    if ((await client.IngestAsync("123", lines)).Status == 200)
                        accepted.Add(lines);
                }
                catch (HttpRequestException)
                {
                    return; // the gateway stopped accepting: this batch was never acknowledged
                }
            }
        }
        var senders = Enumerable.Range(0, 3).Select(Sender).ToArray();
        // Under load means batches answered and lines on their way, however long a slow machine takes to get there.
        await Assert.That(await Poll.UntilAsync(() => accepted.Count >= 6 && sink.Count > 0, TimeSpan.FromSeconds(30))).IsTrue();
        gw.Signal(GatewayProcess.SIGTERM);
        int code = await gw.WaitForExitAsync(TimeSpan.FromSeconds(30));
        stop.Cancel();
        await Task.WhenAll(senders);

        var expected = accepted.SelectMany(b => b.TrimEnd('\n').Split('\n')).ToHashSet();
        var got = await sink.WaitForEndAsync(expected.Count, TimeSpan.FromSeconds(30)) ?? sink.Lines;
        await Assert.That(code).IsEqualTo(0);
        await Assert.That(expected.Count).IsGreaterThan(0);
        await Assert.That(expected.IsSubsetOf(got)).IsTrue();
        await Assert.That(got.Count).IsEqualTo(expected.Count);
    }

    [Test]
    public async Task Drain_timeout_ends_the_wait_and_counts_what_was_left()
    {
        using var closed = Posix.ClosedPort(); // down for the whole test: no parallel test's sink can take the port
        int port = Posix.PortOf(closed);
        await using var gw = GatewayProcess.Start(GatewayProcess.JitBinary, Args(port, "1s"));
        using var client = new ProxyClient(await gw.WaitForHttpAsync());

        await client.IngestAsync("123", ProxyClient.Lines("stuck", 1234));
        gw.Signal(GatewayProcess.SIGINT);
        int code;
        try
        {
            code = await gw.WaitForExitAsync(TimeSpan.FromSeconds(60));
        }
        catch (TaskCanceledException)
        {
            throw new TimeoutException($"no exit 60 s after SIGINT; its log:\n{gw.Stderr}");
        }

        await Assert.That(code).IsEqualTo(0);
        await Assert.That(gw.Stderr).Contains($"Destination 127.0.0.1:{port}: 1234 queued points dropped (ShutdownTimeout)");
        await Assert.That(gw.Stderr).Contains("Stopped: 1234 lines accepted in 1 batches; 0 points delivered, 1234 dropped in all");
    }

    /// <summary>
    /// The drain timeout strikes while a slow destination still has lines in the kernel's send buffer. Those
    /// count as delivered, so the connection must close with a FIN behind them, never a reset (which discards
    /// them): every line counted as delivered reaches the sink, after the gateway has exited.
    /// </summary>
    [Test]
    public async Task Drain_timeout_closes_a_slow_destination_without_losing_what_counted_as_delivered()
    {
        await using var sink = TcpSink.Start(bytesPerSecond: 1 << 20);
        await using var gw = GatewayProcess.Start(GatewayProcess.JitBinary, Args(sink.Port, "1s"));
        using var client = new ProxyClient(await gw.WaitForHttpAsync());
        var sent = new ConcurrentBag<string>();
        long sentLines = 0;
        using var stop = new CancellationTokenSource();

        async Task Sender(int id)
        {
            for (int n = 0; !stop.IsCancellationRequested; n++)
            {
                string lines = ProxyClient.Lines($"slow{id}.b{n}", 2000);
                sent.Add(lines);
                Interlocked.Add(ref sentLines, 2000);
                try
                {
                    await client.IngestAsync("123", lines);
                }
                catch (HttpRequestException)
                {
                    return;
                }
            }
        }
        var senders = Enumerable.Range(0, 4).Select(Sender).ToArray();
        // Load until far more is queued than the 1 s drain can move: the sink's 1 MiB/s plus the kernel's buffers
        // (a 4 MiB send buffer at most here) come to about 150,000 lines, so 400,000 behind makes the cut certain.
        // Counted in lines, not seconds: a slow machine takes longer to get there, and gets there.
        await Assert.That(await Poll.UntilAsync(() => Interlocked.Read(ref sentLines) - sink.Count >= 400_000, TimeSpan.FromSeconds(60))).IsTrue();
        stop.Cancel();
        await Task.WhenAll(senders);
        gw.Signal(GatewayProcess.SIGTERM);
        int code = await gw.WaitForExitAsync(TimeSpan.FromSeconds(30));
        await Assert.That(code).IsEqualTo(0);

        var stopped = System.Text.RegularExpressions.Regex.Match(gw.Stderr, @"Stopped: (\d+) lines accepted in \d+ batches; (\d+) points delivered, (\d+) dropped");
        await Assert.That(stopped.Success).IsTrue();
        long accepted = long.Parse(stopped.Groups[1].Value), delivered = long.Parse(stopped.Groups[2].Value), dropped = long.Parse(stopped.Groups[3].Value);
        await Assert.That(dropped).IsGreaterThan(0); // the timeout really cut the drain short
        await Assert.That(delivered + dropped).IsEqualTo(accepted);

        // What the kernel held is still on its way at the sink's pace; the connection then ends with a FIN.
        await Assert.That(await sink.WaitForAllClosedAsync(TimeSpan.FromSeconds(60))).IsTrue();
        var got = sink.Lines.ToHashSet();
        var all = sent.SelectMany(b => b.TrimEnd('\n').Split('\n')).ToHashSet();
        await Assert.That(sink.Resets).IsEqualTo(0);
        await Assert.That(got.IsSubsetOf(all)).IsTrue();
        await Assert.That((long)got.Count).IsGreaterThanOrEqualTo(delivered);
    }
}
