using System.Diagnostics;
using Polymur.Gateway.Primitives;

namespace Polymur.Gateway.Ingest;

/// <summary>
/// How long one request may still wait for room in -max-batch-memory, all its waits together (reading its body,
/// then inflating it): each wait takes what it used, so a request never waits longer than -queue-wait in all.
/// </summary>
internal sealed class MemoryWait(TimeSpan allowance)
{
    private TimeSpan _left = allowance;

    /// <summary>Awaits a task from <see cref="SpaceSignal.Register"/>; false when the allowance is used up first.</summary>
    public async ValueTask<bool> WaitAsync(Task registered, CancellationToken cancel)
    {
        if (_left <= TimeSpan.Zero)
            return false;
        long start = Stopwatch.GetTimestamp();
        try
        {
            return await SpaceSignal.WaitAsync(registered, DateTime.UtcNow + _left, cancel);
        }
        finally
        {
            _left -= Stopwatch.GetElapsedTime(start);
        }
    }
}
