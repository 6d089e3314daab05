using System.Text;
using Polymur.Gateway.Configuration;
using Polymur.Gateway.Outputs;
using Polymur.Gateway.Primitives;
using Polymur.Gateway.Routing;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Routing;

/// <summary>
/// The dispatcher over real queues of a destination set that is not started: nothing is written, so what
/// it queued stays in the queues to be counted.
/// </summary>
public class BatchDispatcherTests
{
    private sealed record Rig(BatchDispatcher Dispatcher, DestinationSet Set, InflightBatches Inflight, BufferPool Buffers);

    private static Rig Build(Distribution distribution, int queuePoints, int slots, params string[] names)
    {
        var set = IdleDestinations.Create(distribution, queuePoints, names);
        var inflight = new InflightBatches(slots);
        var buffers = new BufferPool();
        var tables = new RoutingTables(set, distribution);
        IBatchRouter router = distribution == Distribution.Broadcast ? new BroadcastRouter(tables) : new HashRouter(tables, buffers);
        var admission = new Admission(inflight, TimeSpan.FromMilliseconds(50));
        return new Rig(new BatchDispatcher(router, set, admission, inflight, buffers), set, inflight, buffers);
    }

    private static (byte[] Buffer, int Length) Lines(BufferPool buffers, int count)
    {
        var text = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, count).Select(i => $"d.m{i} {i} 1700000000\n")));
        var buffer = buffers.Rent(text.Length);
        text.CopyTo(buffer, 0);
        return (buffer, text.Length);
    }

    [Test]
    public async Task Broadcast_queues_every_point_on_every_destination_and_holds_one_slot()
    {
        var rig = Build(Distribution.Broadcast, 1000, 4, "127.0.0.1:2003", "127.0.0.1:2004");
        var (buffer, length) = Lines(rig.Buffers, 10);

        var result = await rig.Dispatcher.DispatchAsync(buffer, length, 10, CancellationToken.None);

        await Assert.That(result).IsEqualTo(DispatchResult.Queued);
        await Assert.That(rig.Set.Current.Select(d => d.QueuedPoints)).IsEquivalentTo([10L, 10L]);
        await Assert.That(rig.Inflight.Count).IsEqualTo(1);
    }

    [Test]
    public async Task Hash_route_splits_the_points_between_the_destinations()
    {
        // carbon_ch places by host and instance, not port, so the three need different hosts.
        var rig = Build(Distribution.CarbonCh, 1000, 4, "127.0.0.1:2003", "127.0.0.2:2003", "127.0.0.3:2003");
        var (buffer, length) = Lines(rig.Buffers, 60);

        var result = await rig.Dispatcher.DispatchAsync(buffer, length, 60, CancellationToken.None);

        await Assert.That(result).IsEqualTo(DispatchResult.Queued);
        await Assert.That(rig.Set.Current.Sum(d => d.QueuedPoints)).IsEqualTo(60);
        await Assert.That(rig.Set.Current.Count(d => d.QueuedPoints > 0)).IsGreaterThan(1);
    }

    [Test]
    public async Task Without_points_or_destinations_the_buffer_goes_back_at_once()
    {
        var rig = Build(Distribution.Broadcast, 1000, 4, "127.0.0.1:2003");
        var (empty, _) = Lines(rig.Buffers, 0);
        await Assert.That(await rig.Dispatcher.DispatchAsync(empty, 0, 0, CancellationToken.None)).IsEqualTo(DispatchResult.Empty);

        await rig.Set.RemoveAsync("127.0.0.1:2003", TimeSpan.Zero);
        var (buffer, length) = Lines(rig.Buffers, 3);
        await Assert.That(await rig.Dispatcher.DispatchAsync(buffer, length, 3, CancellationToken.None)).IsEqualTo(DispatchResult.NoDestinations);

        await Assert.That(rig.Buffers.InUseBytes).IsEqualTo(0);
        await Assert.That(rig.Inflight.Count).IsEqualTo(0);
    }

    [Test]
    public async Task With_every_slot_taken_it_is_busy_and_gives_the_buffer_back()
    {
        var rig = Build(Distribution.Broadcast, 1000, 1, "127.0.0.1:2003");
        var (first, firstLength) = Lines(rig.Buffers, 5);
        await rig.Dispatcher.DispatchAsync(first, firstLength, 5, CancellationToken.None);
        long held = rig.Buffers.InUseBytes;

        var (buffer, length) = Lines(rig.Buffers, 5);
        var result = await rig.Dispatcher.DispatchAsync(buffer, length, 5, CancellationToken.None);

        await Assert.That(result).IsEqualTo(DispatchResult.Busy);
        await Assert.That(rig.Buffers.InUseBytes).IsEqualTo(held);
    }

    [Test]
    public async Task A_full_queue_on_an_up_destination_is_waited_for_then_refused_whole()
    {
        // A queue takes one batch past its cap when empty; the next one finds it full.
        var rig = Build(Distribution.Broadcast, 8, 4, "127.0.0.1:2003", "127.0.0.1:2004");
        var (first, firstLength) = Lines(rig.Buffers, 10);
        await Assert.That(await rig.Dispatcher.DispatchAsync(first, firstLength, 10, CancellationToken.None)).IsEqualTo(DispatchResult.Queued);
        long held = rig.Buffers.InUseBytes;

        var (buffer, length) = Lines(rig.Buffers, 10);
        var result = await rig.Dispatcher.DispatchAsync(buffer, length, 10, CancellationToken.None);

        await Assert.That(result).IsEqualTo(DispatchResult.QueuesFull);
        await Assert.That(rig.Set.Current.Select(d => d.QueuedPoints)).IsEquivalentTo([10L, 10L]); // none of the second
        await Assert.That(rig.Inflight.Count).IsEqualTo(1);
        await Assert.That(rig.Buffers.InUseBytes).IsEqualTo(held);
    }
}
