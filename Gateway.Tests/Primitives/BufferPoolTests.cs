using Polymur.Gateway.Primitives;

namespace Polymur.Gateway.Tests.Primitives;

public class BufferPoolTests
{
    [Test]
    [Arguments(0, 4096)]
    [Arguments(4096, 4096)]
    [Arguments(4097, 8192)]
    [Arguments(300_000, 524_288)]
    [Arguments(16 << 20, 16 << 20)]
    public async Task Rents_round_up_to_a_power_of_two_class(int wanted, int size)
    {
        await Assert.That(new BufferPool().Rent(wanted).Length).IsEqualTo(size);
    }

    [Test]
    public async Task Past_16_MiB_a_buffer_is_the_exact_size_and_is_not_kept()
    {
        var pool = new BufferPool();
        var big = pool.Rent((16 << 20) + 1);
        pool.Return(big);

        await Assert.That(big.Length).IsEqualTo((16 << 20) + 1);
        await Assert.That(pool.RetainedBytes).IsEqualTo(0);
    }

    [Test]
    public async Task A_returned_buffer_is_reused_without_a_new_allocation()
    {
        var pool = new BufferPool();
        var first = pool.Rent(300_000);
        pool.Return(first);
        var again = pool.Rent(400_000);

        await Assert.That(again).IsSameReferenceAs(first);
        await Assert.That(pool.Allocations).IsEqualTo(1);
        await Assert.That(pool.RetainedBytes).IsEqualTo(0);
    }

    [Test]
    public async Task What_it_keeps_never_passes_the_cap()
    {
        var pool = new BufferPool(maxRetainedBytes: 1 << 20);
        var buffers = Enumerable.Range(0, 3).Select(_ => pool.Rent(512 << 10)).ToList();
        buffers.ForEach(pool.Return);

        await Assert.That(pool.RetainedBytes).IsEqualTo(1 << 20);
        pool.Rent(512 << 10);
        pool.Rent(512 << 10);
        pool.Rent(512 << 10);
        await Assert.That(pool.Allocations).IsEqualTo(4); // the third return went to the GC
    }

    [Test]
    public async Task Buffers_of_sizes_it_does_not_make_are_left_to_the_GC()
    {
        var pool = new BufferPool();
        pool.Return(new byte[5000]);
        pool.Return(new byte[100]);

        await Assert.That(pool.RetainedBytes).IsEqualTo(0);
    }

    [Test]
    public async Task Two_threads_never_hold_the_same_buffer()
    {
        var pool = new BufferPool(maxRetainedBytes: 64 << 10);
        long clashes = 0;
        var workers = Enumerable.Range(1, 2).Select(id => Task.Factory.StartNew(() =>
        {
            for (int i = 0; i < 200_000; i++)
            {
                var buffer = pool.Rent(4096 << (i % 3));
                buffer[0] = (byte)id;
                Thread.SpinWait(i % 7);
                if (buffer[0] != id)
                    Interlocked.Increment(ref clashes);
                pool.Return(buffer);
            }
        }, TaskCreationOptions.LongRunning)).ToArray();
        await Task.WhenAll(workers);

        await Assert.That(clashes).IsEqualTo(0);
        await Assert.That(pool.RetainedBytes).IsLessThanOrEqualTo(64 << 10);
        await Assert.That(pool.Allocations).IsLessThan(100); // reuse, not one allocation per rent
    }
}
