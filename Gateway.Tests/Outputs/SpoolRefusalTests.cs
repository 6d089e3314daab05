using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Polymur.Gateway.Configuration;
using Polymur.Gateway.Outputs;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Outputs;

/// <summary>
/// F4: a destination that needs its spool, and a spool that cannot take the part, at -spool-max-size or on a
/// full disk. The batch is refused (503 with Retry-After), all or none across the destinations; it is never
/// answered 200 and dropped. Every line answered 200 is delivered once the destination is back.
/// </summary>
[NotInParallel("tmpfs")]
public class SpoolRefusalTests
{
    private static void Run(string program, params string[] args)
    {
        using var process = Process.Start(program, args);
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} exited {process.ExitCode} (the test needs root to mount a tmpfs)");
    }

    // Random values compress poorly, so a small spool fills within a few batches.
    private static string Lines(string prefix, int count, Random random) =>
        string.Concat(Enumerable.Range(0, count).Select(j => $"{prefix}.m{j} {random.NextDouble()} {1700000000 + random.Next(1000)}\n"));

    /// <summary>Sends batches until <paramref name="refusals"/> were refused; returns the lines answered 200 and the refusals.</summary>
    private static async Task<(HashSet<string> Accepted, List<Reply> Refused)> SendUntilRefusedAsync(ProxyClient client, string prefix, int refusals, int maxBatches = 400)
    {
        var random = new Random(7);
        var accepted = new HashSet<string>();
        var refused = new List<Reply>();
        for (int i = 0; i < maxBatches && refused.Count < refusals; i++)
        {
            string lines = Lines($"{prefix}.b{i}", 2000, random);
            var reply = await client.IngestAsync("123", lines);
            if (reply.Status == 200)
                accepted.UnionWith(lines.TrimEnd('\n').Split('\n'));
            else
                refused.Add(reply);
        }
        return (accepted, refused);
    }

    private static async Task AssertAllDeliveredAsync(Destination destination, TcpSink sink, HashSet<string> accepted)
    {
        await Assert.That(await Poll.UntilAsync(() => destination.Counters.SpoolPending == 0 && destination.Counters.Queued == 0, TimeSpan.FromSeconds(60))).IsTrue();
        var got = (await sink.SettleAsync()).ToHashSet();
        await Assert.That(accepted.Count(l => !got.Contains(l))).IsEqualTo(0);
    }

    [Test]
    public async Task At_the_spool_limit_a_down_destinations_batch_gets_503_with_retry_after_and_the_other_destination_gets_none_of_it()
    {
        await using var up = TcpSink.Start();
        int downPort = Posix.FreePort(); // nothing listens there: the destination is down
        await using var gw = await TestGateway.StartAsync([up], o => o with
        {
            Destinations = [.. o.Destinations, new DestinationAddress("127.0.0.1", downPort, null)],
            SpoolDir = Directory.CreateTempSubdirectory("pgw-refuse-").FullName,
            SpoolMaxSize = 256 << 10,
        });
        using var client = gw.Client();
        var down = gw.App.Destinations.Current[1];
        await Assert.That(await Poll.UntilAsync(() => down.Down, TimeSpan.FromSeconds(10))).IsTrue();

        var (accepted, refused) = await SendUntilRefusedAsync(client, "limit", refusals: 3);

        await Assert.That(accepted.Count).IsGreaterThan(0);
        await Assert.That(refused.Count).IsEqualTo(3);
        await Assert.That(refused.All(r => r.Status == 503 && r.RetryAfter == "5")).IsTrue();
        await Assert.That(refused[0].Body).IsEqualTo("spool full for a destination that needs it (-spool-max-size); retry later\n");
        await Assert.That(down.Counters.DroppedTotal).IsEqualTo(0);
        await Assert.That(down.Counters.Refused).IsEqualTo(3 * 2000);
        await Assert.That(down.Counters.Queued).IsEqualTo(0); // nothing of a down destination's waits in memory
        await Assert.That(gw.App.Spools!.Budget.UsedBytes).IsLessThanOrEqualTo(256 << 10);
        await Assert.That(await Poll.UntilAsync(() => gw.Logs.All.Contains($"Destination 127.0.0.1:{downPort}: ") && gw.Logs.All.Contains("refused with 503, its spool cannot take them (6000 in all)"), TimeSpan.FromSeconds(10))).IsTrue();
        // All or none: the destination that is up got exactly the batches answered 200.
        await Assert.That(await up.WaitForAsync(accepted.Count, TimeSpan.FromSeconds(20))).IsTrue();
        await Assert.That((await up.SettleAsync()).ToHashSet().SetEquals(accepted)).IsTrue();

        await using var back = TcpSink.Start(downPort);
        await AssertAllDeliveredAsync(down, back, accepted);
    }

    [Test]
    public async Task On_a_full_disk_a_down_destinations_batch_gets_503_and_nothing_answered_200_is_lost()
    {
        string mount = Directory.CreateTempSubdirectory("pgw-tmpfs-").FullName;
        Run("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mount);
        try
        {
            var closed = Posix.ClosedPort(); // the destination is down, and stays down until the sink below
            int port = Posix.PortOf(closed);
            await using var gw = await TestGateway.StartAsync([], o => o with
            {
                Destinations = [new DestinationAddress("127.0.0.1", port, null)],
                SpoolDir = mount,
            });
            using var client = gw.Client();
            var destination = gw.App.Destinations.Current[0];
            await Assert.That(await Poll.UntilAsync(() => destination.Down, TimeSpan.FromSeconds(10))).IsTrue();

            var (accepted, refused) = await SendUntilRefusedAsync(client, "enospc", refusals: 3);

            await Assert.That(accepted.Count).IsGreaterThan(0);
            await Assert.That(refused.Count).IsEqualTo(3);
            await Assert.That(refused.All(r => r.Status == 503 && r.RetryAfter == "5")).IsTrue();
            await Assert.That(refused[0].Body).IsEqualTo("spool cannot be written for a destination that needs it (disk full or failing); retry later\n");
            await Assert.That(destination.Counters.DroppedTotal).IsEqualTo(0);
            await Assert.That(destination.Counters.Refused).IsEqualTo(3 * 2000);
            await Assert.That(destination.Counters.SpoolPending).IsEqualTo(accepted.Count);

            closed.Dispose();
            await using var sink = TcpSink.Start(port);
            await AssertAllDeliveredAsync(destination, sink, accepted);
        }
        finally
        {
            Run("umount", "-l", mount);
        }
    }

    /// <summary>A slow destination (up, not reading) whose spool is full: the request waits -queue-wait for its queue, then 503.</summary>
    [Test]
    public async Task A_slow_destination_whose_spool_is_full_gets_503_after_the_wait_and_loses_nothing()
    {
        await using var stalled = new StalledSink();
        await using var gw = await TestGateway.StartAsync([], o => o with
        {
            Destinations = [new DestinationAddress("127.0.0.1", stalled.Port, null)],
            OutgoingQueueCap = 5000,
            QueueWait = TimeSpan.FromMilliseconds(200),
            SpoolDir = Directory.CreateTempSubdirectory("pgw-refuse-slow-").FullName,
            SpoolMaxSize = 256 << 10,
        });
        using var client = gw.Client();
        var destination = gw.App.Destinations.Current[0];

        var (accepted, refused) = await SendUntilRefusedAsync(client, "slow", refusals: 2);

        await Assert.That(refused.Count).IsEqualTo(2);
        await Assert.That(refused.All(r => r.Status == 503 && r.RetryAfter == "5")).IsTrue();
        await Assert.That(refused[0].Body).IsEqualTo("spool full for a destination that needs it (-spool-max-size); retry later\n");
        await Assert.That(destination.Connected).IsTrue();
        await Assert.That(destination.Counters.SpoolPending).IsGreaterThan(0);
        await Assert.That(destination.Counters.DroppedTotal).IsEqualTo(0);

        stalled.Resume();
        await Assert.That(await Poll.UntilAsync(() => destination.Counters.SpoolPending == 0 && destination.Counters.Queued == 0, TimeSpan.FromSeconds(60))).IsTrue();
        await Assert.That(await Poll.UntilAsync(() => stalled.Lines >= accepted.Count, TimeSpan.FromSeconds(30))).IsTrue();
        await Assert.That(destination.Counters.Delivered).IsEqualTo(accepted.Count);
    }

    /// <summary>The plaintext listener has no answer to refuse with: it stops reading, and TCP holds the sender back.</summary>
    [Test]
    public async Task The_plaintext_listener_stops_reading_while_the_spool_refuses_and_loses_nothing()
    {
        int port = Posix.FreePort();
        await using var gw = await TestGateway.StartAsync([], o => o with
        {
            Destinations = [new DestinationAddress("127.0.0.1", port, null)],
            SpoolDir = Directory.CreateTempSubdirectory("pgw-refuse-tcp-").FullName,
            SpoolMaxSize = 128 << 10,
            TcpPort = 0,
            TcpTenant = "edge",
        });
        var destination = gw.App.Destinations.Current[0];
        await Assert.That(await Poll.UntilAsync(() => destination.Down, TimeSpan.FromSeconds(10))).IsTrue();

        var random = new Random(3);
        string text = Lines("tcp", 40_000, random);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(gw.App.PlaintextEndpoint!);
        var sending = Task.Run(async () =>
        {
            await socket.SendAsync(Encoding.ASCII.GetBytes(text));
            socket.Shutdown(SocketShutdown.Send);
        });

        // The spool fills, and the connection stalls on it instead of dropping.
        await Assert.That(await Poll.UntilAsync(() => destination.Counters.Refused > 0, TimeSpan.FromSeconds(20))).IsTrue();
        await Assert.That(destination.Counters.DroppedTotal).IsEqualTo(0);

        await using var sink = TcpSink.Start(port);
        await sending;
        await Assert.That(await sink.WaitForAsync(40_000, TimeSpan.FromSeconds(60))).IsTrue();
        var got = (await sink.SettleAsync()).ToHashSet();
        await Assert.That(text.TrimEnd('\n').Split('\n').All(got.Contains)).IsTrue();
        await Assert.That(destination.Counters.DroppedTotal).IsEqualTo(0);
    }
}
