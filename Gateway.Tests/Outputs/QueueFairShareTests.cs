using System.Text;
using Polymur.Gateway.Keys;
using Polymur.Gateway.Outputs;
using Polymur.Gateway.Primitives;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Outputs;

/// <summary>
/// F14: a destination's queue is shared per tenant, so a flood with no quota cannot take a slow destination from
/// a polite tenant: before, one 50,000-line flood batch filled the 4096-point queue for as long as it took to
/// write, and the polite tenant's batches waited behind it and lost the race for the room it freed (296 of the
/// 10,000 points/s it offered got through, 9 of 19 batches answered 503).
/// </summary>
public class QueueFairShareTests
{
    private const string FloodKey = "key-flood-0123456789", PoliteKey = "key-polite-0123456789";
    private const int FloodLines = 50_000, FloodSenders = 8, PoliteBatches = 20, PoliteLines = 100;

    private static StaticKeyCache Keys() => new(KeySnapshot.From([("flood", FloodKey), ("polite", PoliteKey)]));

    private static string FloodLine(int i) => $"flood.m{i:000000} 1 1700000000";

    private static string PoliteLine(int batch, int i) => $"polite.b{batch}.m{i} 123.456 1700000000";

    [Test]
    public async Task A_flood_with_no_quota_leaves_a_polite_tenant_its_part_of_a_slow_destination_and_loses_nothing()
    {
        // A real slow destination: 1 MiB/s through a 64 KiB window, so each 1.2 MB flood batch takes about a
        // second to write once the socket buffers are full.
        await using var sink = CountingSink.Start(receiveBuffer: 64 << 10, bytesPerSecond: 1 << 20);
        await using var gw = await TestGateway.StartAsync([], o => o with
        {
            Destinations = [new("127.0.0.1", sink.Port, null)],
            QueueWait = TimeSpan.FromSeconds(1),
        }, keys: Keys());

        var floodBody = ProxyClient.Gzip(string.Concat(Enumerable.Range(0, FloodLines).Select(i => FloodLine(i) + "\n")));
        long floodAccepted = 0, floodRefused = 0;
        using var stopFlood = new CancellationTokenSource();
        var flooders = Enumerable.Range(0, FloodSenders).Select(_ => Task.Run(async () =>
        {
            using var client = gw.Client();
            while (!stopFlood.IsCancellationRequested) // each finishes its request: every answer is counted
            {
                var reply = await client.SendAsync("/ingest", FloodKey, floodBody);
                if (reply.Status == 200)
                    Interlocked.Increment(ref floodAccepted);
                else
                    Interlocked.Increment(ref floodRefused);
            }
        })).ToArray();

        // The socket buffers take the first few batches at once; past them the flood holds the queue and is refused.
        await Assert.That(await Poll.UntilAsync(() => Interlocked.Read(ref floodRefused) > 0, TimeSpan.FromSeconds(60))).IsTrue();

        var politeStatuses = new List<int>();
        using (var polite = gw.Client())
        {
            for (int b = 0; b < PoliteBatches; b++)
            {
                string lines = string.Concat(Enumerable.Range(0, PoliteLines).Select(i => PoliteLine(b, i) + "\n"));
                politeStatuses.Add((await polite.IngestAsync(PoliteKey, lines)).Status);
                await Task.Delay(50); // a proxy's flush timer
            }
        }
        stopFlood.Cancel();
        await Task.WhenAll(flooders);
        Console.WriteLine($"polite: {politeStatuses.Count(s => s == 200)} of {PoliteBatches} answered 200; flood: {floodAccepted} accepted, {floodRefused} refused");

        await Assert.That(politeStatuses.Count(s => s == 200)).IsEqualTo(PoliteBatches);
        await Assert.That(floodRefused).IsGreaterThan(0); // the destination really was the bottleneck

        // Every line answered 200, of both tenants, reaches the destination, once.
        long expected = PoliteBatches * PoliteLines + floodAccepted * FloodLines;
        await Assert.That(await Poll.UntilAsync(() => sink.Lines >= expected, TimeSpan.FromSeconds(120))).IsTrue();
        var tally = sink.Tally();
        long Times(string line) => tally.GetValueOrDefault(CountingSink.Hash(Encoding.ASCII.GetBytes(line)));
        int politeOnce = 0;
        for (int b = 0; b < PoliteBatches; b++)
        {
            for (int i = 0; i < PoliteLines; i++)
                politeOnce += Times(PoliteLine(b, i)) == 1 ? 1 : 0;
        }
        await Assert.That(politeOnce).IsEqualTo(PoliteBatches * PoliteLines);
        await Assert.That(Enumerable.Range(0, FloodLines).Count(i => Times(FloodLine(i)) == floodAccepted)).IsEqualTo(FloodLines);
    }

    private static Batch Of(InflightBatches? tenant, int points, int bytes = 1) => new(new byte[bytes], 1, points, share: tenant);

    [Test]
    public async Task A_tenant_holding_less_than_the_others_passes_the_points_cap_and_the_one_holding_most_does_not()
    {
        var queue = new DestinationQueue(4096);
        InflightBatches flood = new(100), polite = new(100);
        await Assert.That(queue.TryReserve(Of(flood, 50_000))).IsTrue(); // one batch past the cap, as before
        await Assert.That(queue.TryReserve(Of(flood, 50_000))).IsFalse();
        int politeTaken = 0;
        while (politeTaken < 100 && queue.TryReserve(Of(polite, 1000)))
            politeTaken++;
        // Up to as many points as the flood holds, never more: neither can climb past the other this way.
        await Assert.That(politeTaken).IsEqualTo(50);
        await Assert.That(queue.TryReserve(Of(polite, 1))).IsFalse();
        await Assert.That(queue.TryReserve(Of(flood, 50_000))).IsFalse();
        await Assert.That(queue.ActiveTenants).IsEqualTo(2);

        // The flood's batch written: it holds nothing, the polite tenant 50,000, so now the flood may pass.
        queue.Complete(Of(flood, 0), 50_000);
        await Assert.That(queue.TryReserve(Of(flood, 50_000))).IsTrue();
        await Assert.That(queue.Points).IsEqualTo(100_000);
    }

    [Test]
    public async Task No_tenant_climbs_past_the_cap_plus_one_batch_whatever_the_mix()
    {
        const int cap = 4096, largest = 50_000;
        var queue = new DestinationQueue(cap);
        var tenants = Enumerable.Range(0, 4).Select(_ => new InflightBatches(1000)).ToArray();
        var held = new List<Batch>();
        var random = new Random(23);
        long most = 0;
        for (int step = 0; step < 20_000; step++)
        {
            var batch = Of(tenants[random.Next(tenants.Length)], random.Next(2) == 0 ? random.Next(1, 2000) : random.Next(1, largest + 1));
            if (queue.TryReserve(batch))
                held.Add(batch);
            if (held.Count > 0 && random.Next(3) == 0) // the writer finishes one, in any order
            {
                int i = random.Next(held.Count);
                queue.Complete(held[i], held[i].Points);
                held.RemoveAt(i);
            }
            foreach (var tenant in tenants)
                most = Math.Max(most, queue.ShareOf(Of(tenant, 0)).Points);
        }
        await Assert.That(most).IsLessThan(cap + largest);
        await Assert.That(most).IsGreaterThan(cap); // the cap was passed, by tenants holding less than the others
    }

    [Test]
    public async Task A_lone_tenant_is_bounded_as_before()
    {
        var queue = new DestinationQueue(4096, capacityBytes: 256 << 10);
        var alone = new InflightBatches(100);
        await Assert.That(queue.TryReserve(Of(alone, 5000))).IsTrue();
        await Assert.That(queue.TryReserve(Of(alone, 1))).IsFalse();
        queue.Complete(Of(alone, 0), 5000);
        int admitted = 0;
        while (queue.TryReserve(Of(alone, 1, 64 << 10)))
            admitted++;
        await Assert.That(admitted).IsEqualTo(4); // all the bytes are its own
        await Assert.That(queue.ActiveTenants).IsEqualTo(1);
    }

    [Test]
    public async Task With_several_tenants_each_pins_at_most_an_equal_part_of_the_bytes_and_the_total_stays_bounded()
    {
        var queue = new DestinationQueue(1_000_000, capacityBytes: 1 << 20);
        InflightBatches flood = new(1000), polite = new(1000);
        var waiting = Of(polite, 1);
        queue.BeginWait(waiting); // the polite tenant waits for room: it is active, the flood's part is halved
        int flooded = 0;
        while (queue.TryReserve(Of(flood, 1, 64 << 10)))
            flooded++;
        await Assert.That(flooded).IsEqualTo(8); // half of 1 MiB
        await Assert.That(queue.IsFullFor(waiting)).IsFalse();
        queue.EndWait(waiting);
        int polited = 0;
        while (queue.TryReserve(Of(polite, 1, 64 << 10)))
            polited++;
        await Assert.That(polited).IsEqualTo(8);
        await Assert.That(queue.Bytes).IsEqualTo(1 << 20);

        // A third tenant finds the total at its bound; room the flood gives back goes to it, not to the flood.
        var third = new InflightBatches(1000);
        await Assert.That(queue.TryReserve(Of(third, 1, 64 << 10))).IsFalse(); // the total is at its bound
        queue.Unreserve(Of(flood, 1, 64 << 10));
        await Assert.That(queue.TryReserve(Of(third, 1, 64 << 10))).IsTrue();
        await Assert.That(queue.ActiveTenants).IsEqualTo(3);
        // Room below the bound again: each of the three may pin a third of it, so only the newcomer gets more.
        queue.Unreserve(Of(polite, 1, 64 << 10));
        queue.Unreserve(Of(polite, 1, 64 << 10));
        await Assert.That(queue.TryReserve(Of(flood, 1, 64 << 10))).IsFalse(); // 448 KiB of 1 MiB / 3
        await Assert.That(queue.TryReserve(Of(polite, 1, 64 << 10))).IsFalse(); // 384 KiB
        await Assert.That(queue.TryReserve(Of(third, 1, 64 << 10))).IsTrue(); // 64 KiB
    }
}
