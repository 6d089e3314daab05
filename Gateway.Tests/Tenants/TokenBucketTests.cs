using Polymur.Gateway.Tenants;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Tenants;

/// <summary>On a clock the test moves: exact refill times, whatever the machine's speed between two lines.</summary>
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
        var clock = new ManualClock();
        var bucket = new TokenBucket(clock);
        bucket.Set(rate: 100, burst: 300);
        await Assert.That(bucket.TryTake(200, out _)).IsTrue();
        await Assert.That(bucket.TryTake(100, out _)).IsTrue();
        await Assert.That(bucket.TryTake(50, out var wait)).IsFalse();
        // 50 points at 100/s: half a second, and after it they pass.
        await Assert.That(wait).IsEqualTo(TimeSpan.FromSeconds(0.5));
        clock.Advance(TimeSpan.FromMilliseconds(250));
        await Assert.That(bucket.TryTake(50, out wait)).IsFalse();
        await Assert.That(wait).IsEqualTo(TimeSpan.FromSeconds(0.25));
        clock.Advance(TimeSpan.FromMilliseconds(250));
        await Assert.That(bucket.TryTake(50, out _)).IsTrue();
    }

    [Test]
    public async Task Lowering_the_burst_caps_the_saved_tokens_and_lifting_the_limit_frees_all()
    {
        var clock = new ManualClock();
        var bucket = new TokenBucket(clock);
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
        var clock = new ManualClock();
        var bucket = new TokenBucket(clock);
        await Assert.That(bucket.IsSpent(out _)).IsFalse();
        bucket.Set(rate: 10, burst: 10);
        await Assert.That(bucket.IsSpent(out _)).IsFalse();
        await Assert.That(bucket.TryTake(50, out _)).IsTrue(); // larger than the burst: 40 points of debt
        await Assert.That(bucket.IsSpent(out var wait)).IsTrue();
        await Assert.That(wait).IsEqualTo(TimeSpan.FromSeconds(4.1)); // back to one point at 10/s
        await Assert.That(bucket.TryTake(0, out _)).IsTrue();
        clock.Advance(TimeSpan.FromSeconds(4.1));
        await Assert.That(bucket.IsSpent(out _)).IsFalse();
    }
}
