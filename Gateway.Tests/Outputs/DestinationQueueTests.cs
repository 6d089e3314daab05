using Polymur.Gateway.Outputs;
using Polymur.Gateway.Primitives;

namespace Polymur.Gateway.Tests.Outputs;

public class DestinationQueueTests
{
    private static Batch Points(int n) => new(new byte[1], 1, n);

    [Test]
    public async Task A_batch_is_admitted_while_the_queue_is_under_its_cap_even_one_larger_than_the_cap()
    {
        var queue = new DestinationQueue(4096);
        await Assert.That(queue.TryReserve(5000)).IsTrue(); // a real proxy's batch is larger than the default cap
        await Assert.That(queue.TryReserve(1)).IsFalse();
        await Assert.That(queue.Points).IsEqualTo(5000);

        queue.Complete(5000);
        await Assert.That(queue.Points).IsEqualTo(0);
        await Assert.That(queue.TryReserve(1)).IsTrue();
    }

    [Test]
    public async Task Unreserving_gives_the_room_back_and_wakes_a_waiting_sender()
    {
        var queue = new DestinationQueue(10);
        await Assert.That(queue.TryReserve(10)).IsTrue();
        var freed = queue.Space.Register();
        await Assert.That(freed.IsCompleted).IsFalse();

        queue.Unreserve(10);

        await freed.WaitAsync(TimeSpan.FromSeconds(5));
        await Assert.That(queue.Points).IsEqualTo(0);
    }

    [Test]
    public async Task Batches_come_out_in_order_and_the_writer_is_woken()
    {
        var queue = new DestinationQueue(100);
        var woken = queue.WaitAsync().AsTask();
        var batches = Enumerable.Range(1, 5).Select(Points).ToArray();
        foreach (var b in batches)
        {
            queue.TryReserve(b.Points);
            queue.EnqueueReserved(b);
        }
        await woken.WaitAsync(TimeSpan.FromSeconds(5));
        var taken = new List<Batch>();
        while (queue.TryDequeue(out var b))
            taken.Add(b);
        await Assert.That(taken).IsEquivalentTo(batches, TUnit.Assertions.Enums.CollectionOrdering.Matching);
    }

    /// <summary>Lock-free under contention: senders on several threads, one writer; every point is accounted for.</summary>
    [Test]
    public async Task Concurrent_senders_and_a_writer_lose_and_invent_nothing()
    {
        var queue = new DestinationQueue(1000);
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
                int n = 1 + random.Next(50);
                while (!queue.TryReserve(n))
                    Thread.Yield();
                queue.EnqueueReserved(Points(n));
                Interlocked.Add(ref sent, n);
            }
        })).ToArray();
        await Task.WhenAll(senders);
        stop.Cancel();
        await writer;
        await Assert.That(written).IsEqualTo(sent);
        await Assert.That(queue.Points).IsEqualTo(0);
    }
}
