using System.Diagnostics;

namespace Polymur.Gateway.Tests.Support;

/// <summary>Waits for a condition the gateway reaches on its own time (a Consul change, a tick), checking every 20 ms.</summary>
public static class Poll
{
    /// <summary>True once <paramref name="done"/> holds, false if <paramref name="timeout"/> passed first.</summary>
    public static async Task<bool> UntilAsync(Func<Task<bool>> done, TimeSpan timeout) => await TimeAsync(done, timeout) is not null;

    public static Task<bool> UntilAsync(Func<bool> done, TimeSpan timeout) => UntilAsync(() => Task.FromResult(done()), timeout);

    /// <summary>True once <paramref name="task"/> has finished, false if <paramref name="timeout"/> passed first.</summary>
    public static async Task<bool> FinishesAsync(Task task, TimeSpan timeout) => await Task.WhenAny(task, Task.Delay(timeout)) == task;

    /// <summary>How long it took <paramref name="done"/> to hold; null if it did not within <paramref name="timeout"/>.</summary>
    public static async Task<TimeSpan?> TimeAsync(Func<Task<bool>> done, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (await done())
                return clock.Elapsed;
            if (clock.Elapsed > timeout)
                return null;
            await Task.Delay(20);
        }
    }
}
