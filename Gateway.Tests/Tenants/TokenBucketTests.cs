using Polymur.Gateway.Tenants;

namespace Polymur.Gateway.Tests.Tenants;

public class TokenBucketTests
{
    [Test]
    public async Task No_rate_takes_everything()
    {
        var bucket = new TokenBucket();
        for (int i = 0; i < 100; i++)
            await Assert.That(bucket.TryTake(1_000_000, out _)).IsTrue();
    }

    [Test]
    public async Task A_full_bucket_gives_its_burst_then_refuses_with_the_time_to_refill()
    {
        var bucket = new TokenBucket();
        bucket.Set(rate: 100, burst: 300);
        await Assert.That(bucket.TryTake(200, out _)).IsTrue();
        await Assert.That(bucket.TryTake(100, out _)).IsTrue();
        await Assert.That(bucket.TryTake(50, out var wait)).IsFalse();
        // 50 points at 100/s: about half a second (less the few milliseconds since the last take).
        await Assert.That(wait.TotalSeconds).IsBetween(0.3, 0.5);
    }

    [Test]
    public async Task Lowering_the_burst_caps_the_saved_tokens_and_lifting_the_limit_frees_all()
    {
        var bucket = new TokenBucket();
        bucket.Set(rate: 10, burst: 1000);
        bucket.Set(rate: 10, burst: 20);
        await Assert.That(bucket.TryTake(20, out _)).IsTrue();
        await Assert.That(bucket.TryTake(20, out _)).IsFalse();
        bucket.Set(rate: 0, burst: 0);
        await Assert.That(bucket.TryTake(1_000, out _)).IsTrue();
        // Limited again: it starts full.
        bucket.Set(rate: 10, burst: 30);
        await Assert.That(bucket.TryTake(30, out _)).IsTrue();
    }

    [Test]
    public async Task A_spent_bucket_is_known_before_the_points_are_and_an_empty_batch_always_passes()
    {
        var bucket = new TokenBucket();
        await Assert.That(bucket.IsSpent(out _)).IsFalse();
        bucket.Set(rate: 10, burst: 10);
        await Assert.That(bucket.IsSpent(out _)).IsFalse();
        await Assert.That(bucket.TryTake(50, out _)).IsTrue(); // larger than the burst: 40 points of debt
        await Assert.That(bucket.IsSpent(out var wait)).IsTrue();
        await Assert.That(wait.TotalSeconds).IsBetween(3.5, 4.2);
        await Assert.That(bucket.TryTake(0, out _)).IsTrue();
    }
}
