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

    [Test]
    public async Task A_rate_too_small_for_a_timespan_names_the_longest_wait_instead_of_overflowing()
    {
        var clock = new ManualClock();
        var bucket = new TokenBucket(clock);
        bucket.Set(rate: 1e-13, burst: 1);
        await Assert.That(bucket.TryTake(1, out _)).IsTrue();
        // One point at 1e-13/s is 1e13 s, past TimeSpan.MaxValue: it threw OverflowException (a 500).
        await Assert.That(bucket.TryTake(1, out var wait)).IsFalse();
        await Assert.That(wait).IsEqualTo(TokenBucket.MaxWait);
        await Assert.That(bucket.IsSpent(out wait)).IsTrue();
        await Assert.That(wait).IsEqualTo(TokenBucket.MaxWait);
    }

    [Test]
    public async Task A_reservation_is_charged_the_difference_or_given_back()
    {
        var clock = new ManualClock();
        var bucket = new TokenBucket(clock);
        bucket.Set(rate: 100, burst: 1000);
        // Reserved 600 on a guess; the batch had 700: charged 100 more, as the full batch would have passed.
        await Assert.That(bucket.TryTake(600, out _)).IsTrue();
        await Assert.That(bucket.TryTake(700, reserved: 600, out _)).IsTrue();
        // 300 left. A guess of 100 for a batch of 900 that the bucket cannot cover: refused, the 100 given back.
        await Assert.That(bucket.TryTake(100, out _)).IsTrue();
        await Assert.That(bucket.TryTake(900, reserved: 100, out var wait)).IsFalse();
        await Assert.That(wait).IsEqualTo(TimeSpan.FromSeconds(6));
        // A batch never counted gives its reservation back whole: 300 again.
        await Assert.That(bucket.TryTake(300, out _)).IsTrue();
        bucket.Release(300);
        await Assert.That(bucket.TryTake(300, out _)).IsTrue();
        await Assert.That(bucket.IsSpent(out _)).IsTrue();
    }

    [Test]
    public async Task A_slow_refill_asked_every_millisecond_still_arrives_on_time()
    {
        // The slowest rate allowed, the largest burst, the bucket nearly full: a millisecond's refill is 1e-6 of a
        // point, 8.4 steps of a double at 1e9. Refused a thousand times a second for 1,000 s, the bucket must
        // still gain its point in 1,000 s: added up one millisecond at a time, it rounded to 0.954 of one.
        var clock = new ManualClock();
        var bucket = new TokenBucket(clock);
        bucket.Set(rate: TenantLimit.MinRate, burst: TenantLimit.MaxBurst);
        const int full = (int)TenantLimit.MaxBurst;
        await Assert.That(bucket.TryTake(1, out _)).IsTrue();
        int passed = 0;
        for (int ms = 1; ms < 1_000_000; ms++)
        {
            clock.Advance(TimeSpan.FromMilliseconds(1));
            if (bucket.TryTake(full, out _))
                passed++;
        }
        await Assert.That(passed).IsEqualTo(0);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        await Assert.That(bucket.TryTake(full, out _)).IsTrue();
    }
}
