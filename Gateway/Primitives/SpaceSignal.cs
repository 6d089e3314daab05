namespace Polymur.Gateway.Primitives;

/// <summary>
/// Tells waiting requests that room was freed. Free for the writer when nobody waits (one volatile read);
/// waiters register first, re-check, then await, so a notification between the two is never missed.
/// </summary>
internal sealed class SpaceSignal
{
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _waiters;

    /// <summary>Registers interest; await the task after re-checking for room.</summary>
    public Task Register()
    {
        Interlocked.Increment(ref _waiters);
        return Volatile.Read(ref _next).Task;
    }

    /// <summary>
    /// Awaits a task from <see cref="Register"/> until <paramref name="deadline"/> (<see cref="DateTime.MaxValue"/>:
    /// no limit). False when the deadline passed first; the caller then gives up.
    /// </summary>
    public static async ValueTask<bool> WaitAsync(Task registered, DateTime deadline, CancellationToken cancel)
    {
        if (deadline == DateTime.MaxValue)
        {
            await registered.WaitAsync(cancel);
            return true;
        }
        var left = deadline - DateTime.UtcNow;
        if (left <= TimeSpan.Zero)
            return false;
        try
        {
            await registered.WaitAsync(left, cancel);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    public void Notify()
    {
        if (Volatile.Read(ref _waiters) == 0 || Interlocked.Exchange(ref _waiters, 0) == 0)
            return;
        Interlocked.Exchange(ref _next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }
}
