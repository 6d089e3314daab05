using Polymur.Gateway.Outputs;
using Polymur.Gateway.Primitives;

namespace Polymur.Gateway.Tests.Outputs;

public class DestinationQueueTests
{
    private static Batch Points(int n, int bufferBytes = 1) => new(new byte[bufferBytes], 1, n);

    [Test]
    public async Task A_batch_is_admitted_while_the_queue_is_under_its_cap_even_one_larger_than_the_cap()
    {
        var queue = new DestinationQueue(4096);
        await Assert.That(queue.TryReserve(Points(5000))).IsTrue(); // a real proxy's batch is larger than the default cap
        await Assert.That(queue.TryReserve(Points(1))).IsFalse();
        await Assert.That(queue.Points).IsEqualTo(5000);

        queue.Complete(5000);
        await Assert.That(queue.Points).IsEqualTo(0);
        await Assert.That(queue.TryReserve(Points(1))).IsTrue();
    }

    /// <summary>F7: one-line batches each pin a whole pooled buffer; the queue is bounded by those bytes too.</summary>
    [Test]
    public async Task Small_batches_are_bounded_by_the_buffer_bytes_they_pin_not_only_by_points()
    {
        var queue = new DestinationQueue(4096, capacityBytes: 256 << 10);
        int admitted = 0;
        while (queue.TryReserve(Points(1, 64 << 10)))
        {
            queue.EnqueueReserved(Points(1, 64 << 10));
            admitted++;
        }

        await Assert.That(admitted).IsEqualTo(4); // 4 x 64 KiB, far below 4096 points
        await Assert.That(queue.Bytes).IsEqualTo(256 << 10);
        await Assert.That(queue.IsFull).IsTrue();

        // The writer taking a batch out gives its bytes back at once; its points when written.
        await Assert.That(queue.TryDequeue(out var taken)).IsTrue();
        await Assert.That(queue.Bytes).IsEqualTo(192 << 10);
        await Assert.That(queue.Points).IsEqualTo(4);
        await Assert.That(queue.TryReserve(Points(1, 64 << 10))).IsTrue();
        queue.Complete(taken.Points);
        await Assert.That(queue.Points).IsEqualTo(4);
    }

    [Test]
    public async Task A_refused_byte_reservation_leaves_no_points_taken()
    {
        var queue = new DestinationQueue(100, capacityBytes: 10);
        await Assert.That(queue.TryReserve(Points(5, 10))).IsTrue();
        await Assert.That(queue.TryReserve(Points(5, 10))).IsFalse();
        await Assert.That(queue.Points).IsEqualTo(5);
        await Assert.That(queue.Bytes).IsEqualTo(10);
    }

    [Test]
    public async Task Unreserving_gives_the_room_back_and_wakes_a_waiting_sender()
    {
        var queue = new DestinationQueue(10);
        var batch = Points(10);
        await Assert.That(queue.TryReserve(batch)).IsTrue();
        var freed = queue.Space.Register();
        await Assert.That(freed.IsCompleted).IsFalse();

        queue.Unreserve(batch);

        await freed.WaitAsync(TimeSpan.FromSeconds(5));
        await Assert.That(queue.Points).IsEqualTo(0);
        await Assert.That(queue.Bytes).IsEqualTo(0);
    }

    [Test]
    public async Task Batches_come_out_in_order_and_the_writer_is_woken()
    {
        var queue = new DestinationQueue(100);
        var woken = queue.WaitAsync().AsTask();
        var batches = Enumerable.Range(1, 5).Select(n => Points(n)).ToArray();
        foreach (var b in batches)
        {
            queue.TryReserve(b);
            queue.EnqueueReserved(b);
        }
        await woken.WaitAsync(TimeSpan.FromSeconds(5));
        var taken = new List<Batch>();
        while (queue.TryDequeue(out var b))
            taken.Add(b);
        await Assert.That(taken).IsEquivalentTo(batches, TUnit.Assertions.Enums.CollectionOrdering.Matching);
        await Assert.That(queue.Bytes).IsEqualTo(0);
    }

    /// <summary>Lock-free under contention: senders on several threads, one writer; every point and byte is accounted for.</summary>
    [Test]
    public async Task Concurrent_senders_and_a_writer_lose_and_invent_nothing()
    {
        var queue = new DestinationQueue(1000, capacityBytes: 4000);
        long sent = 0, written = 0;
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested || !queue.IsEmpty)
            {
                while (queue.TryDequeue(out var b))
                {
                    written += b.Points;
                    queue.Complete(b.Points);
                }
                await Task.Yield();
            }
        });
        var senders = Enumerable.Range(0, 4).Select(s => Task.Run(() =>
        {
            var random = new Random(s);
            for (int i = 0; i < 20_000; i++)
            {
                var batch = Points(1 + random.Next(50), 1 + random.Next(100));
                while (!queue.TryReserve(batch))
                    Thread.Yield();
                queue.EnqueueReserved(batch);
                Interlocked.Add(ref sent, batch.Points);
            }
        })).ToArray();
        await Task.WhenAll(senders);
        stop.Cancel();
        await writer;
        await Assert.That(written).IsEqualTo(sent);
        await Assert.That(queue.Points).IsEqualTo(0);
        await Assert.That(queue.Bytes).IsEqualTo(0);
    }
}
