using Polymur.Gateway.Outputs;
using Polymur.Gateway.Primitives;
using Polymur.Gateway.Spool;

namespace Polymur.Gateway.Tests.Outputs;

/// <summary>
/// A destination going down with a real spool on disk and no writer: what waits in its memory queue moves to
/// the spool, where SIGKILL cannot take it, and what the spool refuses stays queued, never dropped.
/// </summary>
public class DestinationDownTests
{
    private static Destination WithSpool(long spoolBytes, out DestinationSpool spool)
    {
        string root = Directory.CreateTempSubdirectory("pgw-down-").FullName;
        spool = DestinationSpool.Open(root, "127.0.0.1:2003", new SpoolBudget(spoolBytes), new SpoolSettings());
        return new Destination("127.0.0.1:2003", 1_000_000) { Spool = spool };
    }

    private static Batch Lines(BufferPool pool, string prefix, int count)
    {
        var text = System.Text.Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, count).Select(i => $"{prefix}.{i} 1 1700000000\n")));
        var buffer = pool.Rent(text.Length);
        text.CopyTo(buffer, 0);
        return new Batch(buffer, text.Length, count, pool);
    }

    private static void Queue(Destination destination, Batch batch)
    {
        destination.Queue.TryReserve(batch);
        destination.Commit(batch);
        batch.Release(); // the queue holds its own reference now
    }

    [Test]
    public async Task Going_down_moves_the_queue_to_the_spool_and_frees_its_buffers()
    {
        var pool = new BufferPool();
        var destination = WithSpool(1 << 30, out var spool);
        using var _ = spool;
        Queue(destination, Lines(pool, "a", 100));
        Queue(destination, Lines(pool, "b", 200));

        destination.Down = true; // what its writer does when the connection is lost or a connect fails

        await Assert.That(destination.Queue.IsEmpty).IsTrue();
        await Assert.That(destination.Queue.Points).IsEqualTo(0);
        await Assert.That(destination.Queue.Bytes).IsEqualTo(0);
        await Assert.That(destination.Counters.SpoolPending).IsEqualTo(300);
        await Assert.That(destination.Counters.Queued).IsEqualTo(0);
        await Assert.That(spool.Counters.PendingPoints).IsEqualTo(300);
        await Assert.That(pool.InUseBytes).IsEqualTo(0);
    }

    [Test]
    public async Task A_batch_committed_just_after_it_went_down_follows_to_the_spool()
    {
        var pool = new BufferPool();
        var destination = WithSpool(1 << 30, out var spool);
        using var _ = spool;
        destination.Down = true;
        var late = Lines(pool, "late", 50);
        await Assert.That(destination.Queue.TryReserve(late)).IsTrue(); // reserved by a request that read Down as false

        destination.Commit(late);
        late.Release();

        await Assert.That(destination.Queue.IsEmpty).IsTrue();
        await Assert.That(destination.Counters.SpoolPending).IsEqualTo(50);
    }

    [Test]
    public async Task What_a_full_spool_cannot_take_stays_queued_and_nothing_is_dropped()
    {
        var pool = new BufferPool();
        var destination = WithSpool(0, out var spool); // a spool with no room at all
        using var _ = spool;
        Queue(destination, Lines(pool, "a", 100));

        destination.Down = true;

        await Assert.That(destination.Queue.Points).IsEqualTo(100);
        await Assert.That(destination.Queue.IsEmpty).IsFalse();
        await Assert.That(destination.Counters.DroppedTotal).IsEqualTo(0);
        await Assert.That(destination.Counters.Queued).IsEqualTo(100);
    }
}
