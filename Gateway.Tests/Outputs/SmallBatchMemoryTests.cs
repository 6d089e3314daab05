using Polymur.Gateway.Configuration;
using Polymur.Gateway.Outputs;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Outputs;

/// <summary>
/// F7: one-line batches each pin a whole pooled buffer (64 KiB) in a down destination's queue. Counted in points
/// only, 4,095 of them took all of -max-batch-memory, and every tenant got 503 while the spool stayed empty.
/// Here -max-batch-memory is 8 MiB, so the old code refused after about 128 of them.
/// </summary>
public class SmallBatchMemoryTests
{
    private const int Batches = 600;

    private static GatewayOptions Small(GatewayOptions o, int downPort) => o with
    {
        Destinations = [new DestinationAddress("127.0.0.1", downPort, null)],
        MaxBatchMemory = 8 << 20,
        MaxBatchSize = 4 << 20,
    };

    private static async Task<Dictionary<int, int>> SendTinyAsync(ProxyClient client)
    {
        var statuses = new Dictionary<int, int>();
        for (int i = 0; i < Batches; i++)
        {
            int status = (await client.IngestAsync("123", $"tiny.m{i} 1 1700000000\n")).Status;
            statuses[status] = statuses.GetValueOrDefault(status) + 1;
        }
        return statuses;
    }

    [Test]
    public async Task With_a_spool_small_batches_for_a_down_destination_go_to_the_spool_and_every_tenant_is_still_served()
    {
        int port = Posix.FreePort();
        await using var gw = await TestGateway.StartAsync([], o => Small(o, port) with { SpoolDir = Directory.CreateTempSubdirectory("pgw-f7-").FullName });
        using var client = gw.Client();
        var destination = gw.App.Destinations.Current[0];
        await Assert.That(await Poll.UntilAsync(() => destination.Down, TimeSpan.FromSeconds(10))).IsTrue();

        var statuses = await SendTinyAsync(client);
        var big = await client.IngestAsync("123", ProxyClient.Lines("big", 1000));

        await Assert.That(statuses.GetValueOrDefault(200)).IsEqualTo(Batches);
        await Assert.That(big.Status).IsEqualTo(200);
        await Assert.That(destination.Counters.SpoolPending).IsEqualTo(Batches + 1000);
        await Assert.That(destination.Queue.Bytes).IsEqualTo(0);
        await Assert.That(destination.Counters.DroppedTotal).IsEqualTo(0);

        await using var sink = TcpSink.Start(port);
        await Assert.That(await sink.WaitForAsync(Batches + 1000, TimeSpan.FromSeconds(30))).IsTrue();
    }

    [Test]
    public async Task Without_a_spool_a_down_destinations_queue_is_bounded_in_bytes_and_the_rest_is_dropped_and_counted_not_503()
    {
        int port = Posix.FreePort();
        await using var gw = await TestGateway.StartAsync([], o => Small(o, port));
        using var client = gw.Client();
        var destination = gw.App.Destinations.Current[0];
        await Assert.That(await Poll.UntilAsync(() => destination.Down, TimeSpan.FromSeconds(10))).IsTrue();

        var statuses = await SendTinyAsync(client);
        var big = await client.IngestAsync("123", ProxyClient.Lines("big", 1000));

        await Assert.That(statuses.GetValueOrDefault(200)).IsEqualTo(Batches);
        await Assert.That(big.Status).IsEqualTo(200);
        // An eighth of -max-batch-memory (1 MiB), passed by at most one batch.
        await Assert.That(destination.Queue.Bytes).IsLessThanOrEqualTo((1 << 20) + (64 << 10));
        await Assert.That(destination.Counters.Dropped(DropReason.QueueFull)).IsGreaterThan(0);
        await Assert.That(destination.Counters.Routed).IsEqualTo(Batches + 1000);
        await Assert.That(destination.Counters.Queued + destination.Counters.DroppedTotal).IsEqualTo(destination.Counters.Routed);
    }
}
