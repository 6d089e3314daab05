using Microsoft.Extensions.Logging.Abstractions;
using Polymur.Gateway.Hosting;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Hosting;

/// <summary>The reload thread: requests fold together, and a reload stuck in a read holds back nobody who asks.</summary>
public class ReloadLoopTests
{
    private sealed class Part(ManualResetEventSlim? gate = null) : IReloadable
    {
        private int _forced, _polled;

        public int Forced => Volatile.Read(ref _forced);

        public int Polled => Volatile.Read(ref _polled);

        public string What => "a test part";

        public void Reload(bool forced)
        {
            gate?.Wait(); // a read on a hung mount
            Interlocked.Increment(ref forced ? ref _forced : ref _polled);
        }
    }

    [Test]
    public async Task A_storm_of_requests_folds_into_few_passes_on_one_thread()
    {
        var part = new Part();
        await using var loop = new ReloadLoop([part], TimeSpan.FromHours(1), NullLogger<ReloadLoop>.Instance);
        loop.Start();
        for (int i = 0; i < 1000; i++)
            loop.Request();
        await Assert.That(await Poll.UntilAsync(() => part.Forced >= 1 && loop.Passes == part.Forced, TimeSpan.FromSeconds(30))).IsTrue();
        await Assert.That(loop.Requests).IsEqualTo(1000);
        await Assert.That(loop.Passes).IsLessThanOrEqualTo(1000);
        // A wake whose request an earlier pass already took runs as a plain poll: harmless, and never more.
        await Assert.That(part.Forced + part.Polled).IsLessThanOrEqualTo(1000);
    }

    [Test]
    public async Task A_reload_stuck_in_a_read_does_not_block_requests_posts_or_the_stop()
    {
        using var gate = new ManualResetEventSlim(false);
        var part = new Part(gate);
        var loop = new ReloadLoop([part], TimeSpan.FromHours(1), NullLogger<ReloadLoop>.Instance);
        loop.Start();
        loop.Request();
        await Assert.That(await Poll.UntilAsync(() => loop.Passes == 1, TimeSpan.FromSeconds(30))).IsTrue();
        // The loop's thread is now stuck in the part; what a signal handler calls still returns at once.
        var asks = Task.Run(() =>
        {
            for (int i = 0; i < 1000; i++)
            {
                loop.Request();
                loop.Post(() => { });
            }
        });
        await Assert.That(await Poll.FinishesAsync(asks, TimeSpan.FromSeconds(10))).IsTrue();
        await Assert.That(await Poll.FinishesAsync(loop.DisposeAsync().AsTask(), TimeSpan.FromSeconds(10))).IsTrue();
        gate.Set();
        await Assert.That(await Poll.UntilAsync(() => part.Forced == 1, TimeSpan.FromSeconds(30))).IsTrue();
        await Assert.That(loop.Requests).IsEqualTo(1001);
    }

    [Test]
    public async Task Without_parts_a_request_still_runs_what_was_posted()
    {
        await using var loop = new ReloadLoop([], TimeSpan.FromSeconds(1), NullLogger<ReloadLoop>.Instance);
        loop.Start();
        int ran = 0;
        loop.Request();
        loop.Post(() => Interlocked.Increment(ref ran));
        await Assert.That(await Poll.UntilAsync(() => Volatile.Read(ref ran) == 1, TimeSpan.FromSeconds(30))).IsTrue();
        await Assert.That(loop.What).IsEqualTo("nothing (no -cert)");
    }
}
