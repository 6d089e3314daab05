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

    public void Notify()
    {
        if (Volatile.Read(ref _waiters) == 0 || Interlocked.Exchange(ref _waiters, 0) == 0)
            return;
        Interlocked.Exchange(ref _next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }
}
