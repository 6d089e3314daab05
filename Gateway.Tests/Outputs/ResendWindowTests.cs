using Polymur.Gateway.Primitives;
using Polymur.Gateway.Outputs;

namespace Polymur.Gateway.Tests.Outputs;

public class ResendWindowTests
{
    // A batch as a writer holds it once sent: its reference released, one lease kept for the window.
    private static PendingWrite Sent(BufferPool pool, int points)
    {
        var batch = new Batch(pool.Rent(4096), 10 * points, points, pool);
        batch.Lease();
        batch.Release();
        return new PendingWrite(batch) with { Resend = true };
    }

    [Test]
    public async Task Past_its_bytes_the_oldest_batch_goes_back_to_the_pool()
    {
        var pool = new BufferPool();
        var window = new ResendWindow(capacityBytes: 2 * 4096, maxBatches: 10);
        window.Remember(Sent(pool, 1));
        window.Remember(Sent(pool, 2));
        window.Remember(Sent(pool, 3));

        var pending = new List<PendingWrite>();
        long lines = window.MoveTo(pending);

        await Assert.That(pool.InUseBytes).IsEqualTo(2 * 4096);
        await Assert.That(lines).IsEqualTo(5);
        await Assert.That(pending.Select(p => p.PointsLeft)).IsEquivalentTo([2, 3]);
    }

    [Test]
    public async Task Past_its_count_the_oldest_batch_goes_back_to_the_pool()
    {
        var pool = new BufferPool();
        var window = new ResendWindow(capacityBytes: 1 << 20, maxBatches: 2);
        for (int i = 1; i <= 4; i++)
            window.Remember(Sent(pool, i));

        await Assert.That(pool.InUseBytes).IsEqualTo(2 * 4096);
    }

    [Test]
    public async Task What_it_kept_goes_in_front_of_what_is_pending_oldest_first()
    {
        var pool = new BufferPool();
        var window = new ResendWindow(capacityBytes: 1 << 20, maxBatches: 10);
        window.Remember(Sent(pool, 1));
        window.Remember(Sent(pool, 2));
        var pending = new List<PendingWrite> { new(new Batch(new byte[40], 40, 4)) };

        window.MoveTo(pending);
        window.MoveTo(pending); // nothing left to move a second time

        await Assert.That(pending.Select(p => p.PointsLeft).ToArray()).IsEquivalentTo(new[] { 1, 2, 4 }, TUnit.Assertions.Enums.CollectionOrdering.Matching);
    }

    [Test]
    public async Task A_zero_window_keeps_nothing_and_clear_gives_everything_back()
    {
        var pool = new BufferPool();
        var none = new ResendWindow(capacityBytes: 0, maxBatches: 10);
        none.Remember(Sent(pool, 1));
        await Assert.That(pool.InUseBytes).IsEqualTo(0);

        var window = new ResendWindow(capacityBytes: 1 << 20, maxBatches: 10);
        window.Remember(Sent(pool, 1));
        window.Remember(Sent(pool, 2));
        window.Clear();
        await Assert.That(pool.InUseBytes).IsEqualTo(0);
        await Assert.That(window.MoveTo([])).IsEqualTo(0);
    }
}
