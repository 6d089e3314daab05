using System.Text;
using Polymur.Gateway.Configuration;
using Polymur.Gateway.Outputs;
using Polymur.Gateway.Primitives;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Outputs;

/// <summary>
/// Admission over the real queues of a destination set that is not started: no writer runs, so queued
/// points stay until the test completes them, standing in for a writer.
/// </summary>
public class AdmissionTests
{
    private static DestinationSet Set(int queuePoints, params string[] names) => IdleDestinations.Create(Distribution.Broadcast, queuePoints, names);

    private static List<Delivery> Plan(DestinationSet set, BufferPool pool, int points)
    {
        var batch = new Batch(pool.Rent(64), 10, points, pool);
        var plan = set.Current.Select(d => { batch.Retain(1); return new Delivery(d, batch); }).ToList();
        batch.Release();
        return plan;
    }

    [Test]
    public async Task A_plan_is_queued_on_every_destination_and_the_plans_references_move_to_the_queues()
    {
        var set = Set(100, "127.0.0.1:2003", "127.0.0.1:2004");
        var pool = new BufferPool();
        var admission = new Admission(new InflightBatches(4), TimeSpan.FromSeconds(1));
        var plan = Plan(set, pool, 10);

        await Assert.That(await admission.QueueAsync(plan, CancellationToken.None)).IsEqualTo(AdmissionResult.Accepted);
        await Assert.That(plan).IsEmpty();
        await Assert.That(set.Current.Select(d => d.QueuedPoints)).IsEquivalentTo([10L, 10L]);
        await Assert.That(pool.InUseBytes).IsGreaterThan(0); // the queues hold the batch
    }

    [Test]
    public async Task One_full_queue_refuses_the_whole_plan_and_the_other_queue_keeps_no_part_of_it()
    {
        var set = Set(10, "127.0.0.1:2003", "127.0.0.1:2004");
        var pool = new BufferPool();
        var admission = new Admission(new InflightBatches(4), TimeSpan.FromMilliseconds(100));
        var second = set.Current[1];
        await Assert.That(second.Queue.TryReserve(10, 0)).IsTrue(); // full, as if its writer were stuck

        var plan = Plan(set, pool, 5);
        await Assert.That(await admission.QueueAsync(plan, CancellationToken.None)).IsEqualTo(AdmissionResult.QueuesFull);

        await Assert.That(set.Current[0].QueuedPoints).IsEqualTo(0);
        await Assert.That(pool.InUseBytes).IsEqualTo(0); // refused: every reference released, the buffer is back
    }

    [Test]
    public async Task A_sender_waiting_on_a_full_queue_is_let_in_as_soon_as_the_writer_frees_room()
    {
        var set = Set(10, "127.0.0.1:2003");
        var pool = new BufferPool();
        var admission = new Admission(new InflightBatches(4), TimeSpan.FromSeconds(30));
        var queue = set.Current[0].Queue;
        queue.TryReserve(10, 0);

        var waiting = admission.QueueAsync(Plan(set, pool, 5), CancellationToken.None).AsTask();
        await Task.Delay(100);
        await Assert.That(waiting.IsCompleted).IsFalse();

        queue.Complete(10); // what a writer does once the points are written
        await Assert.That(await waiting.WaitAsync(TimeSpan.FromSeconds(5))).IsEqualTo(AdmissionResult.Accepted);
        await Assert.That(queue.Points).IsEqualTo(5);
    }

    /// <summary>
    /// A new destination is not down until its first connect fails. A request that found its queue full before
    /// that waits for it; once it is known down it is no longer waited for, so the request must be let go then,
    /// not at the end of -queue-wait (it was not woken, and waited it out: the race in the flaky drop test).
    /// </summary>
    [Test]
    public async Task A_sender_waiting_on_a_full_queue_is_let_go_as_soon_as_that_destination_is_known_down()
    {
        var set = Set(10, "127.0.0.1:2003");
        var pool = new BufferPool();
        var admission = new Admission(new InflightBatches(4), TimeSpan.FromSeconds(60));
        var destination = set.Current[0];
        destination.Queue.TryReserve(10, 0);

        var waiting = admission.QueueAsync(Plan(set, pool, 5), CancellationToken.None).AsTask();
        await Assert.That(waiting.IsCompleted).IsFalse();

        destination.Down = true; // what its writer does when a connect fails
        await Assert.That(await waiting.WaitAsync(TimeSpan.FromSeconds(10))).IsEqualTo(AdmissionResult.Accepted);
        // Down and without a spool: its part is dropped and counted, the request goes on.
        await Assert.That(destination.Counters.Dropped(DropReason.QueueFull)).IsEqualTo(5);
    }

    [Test]
    public async Task A_full_queue_by_bytes_refuses_like_a_full_queue_by_points()
    {
        var set = Set(1000, "127.0.0.1:2003");
        var pool = new BufferPool();
        var admission = new Admission(new InflightBatches(4), TimeSpan.FromMilliseconds(50));
        var queue = set.Current[0].Queue;
        await Assert.That(queue.TryReserve(0, (int)queue.CapacityBytes)).IsTrue(); // the bytes are spent, the points are not

        await Assert.That(await admission.QueueAsync(Plan(set, pool, 1), CancellationToken.None)).IsEqualTo(AdmissionResult.QueuesFull);
        await Assert.That(queue.Points).IsEqualTo(0);
    }

    [Test]
    public async Task Slots_run_out_at_the_incoming_queue_cap_and_come_back_when_released()
    {
        var inflight = new InflightBatches(2);
        var admission = new Admission(inflight, TimeSpan.FromMilliseconds(50));
        await Assert.That(await admission.AcquireSlotAsync(CancellationToken.None)).IsTrue();
        await Assert.That(await admission.AcquireSlotAsync(CancellationToken.None)).IsTrue();
        await Assert.That(await admission.AcquireSlotAsync(CancellationToken.None)).IsFalse();

        inflight.Release();
        await Assert.That(await admission.AcquireSlotAsync(CancellationToken.None)).IsTrue();
    }
}
