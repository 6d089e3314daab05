using System.Diagnostics;
using Polymur.Gateway.Primitives;

namespace Polymur.Gateway.Consul;

/// <summary>
/// One Consul read kept current with blocking queries, by Consul's rules: the index resets when it goes
/// backwards or is 0, and after any failure (a restarted agent has a smaller index, and blocking on the old
/// one could wait out the whole wait); errors back off up to a cap; the loop sends at most one request per
/// <see cref="MinGap"/>, whatever Consul answers; a return without change is normal. The keys, the tenant
/// limits and the instance count each run one.
/// </summary>
public sealed class ConsulWatch<T>(
    Func<ulong, CancellationToken, Task<ConsulResult<T>>> read,
    Func<ConsulResult<T>, CancellationToken, Task> apply,
    Action<string> fail)
{
    public static readonly TimeSpan MinGap = TimeSpan.FromMilliseconds(100);

    private Backoff _backoff = new(TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(5));
    private ulong _index;
    private long _lastRequest;

    /// <summary>The X-Consul-Index the next read blocks on (0: a plain read).</summary>
    public ulong Index => _index;

    /// <summary>One read, applied when it succeeded. False when it failed (already reported through fail).</summary>
    public async Task<bool> SyncOnceAsync(CancellationToken cancel)
    {
        var since = Stopwatch.GetElapsedTime(_lastRequest);
        if (_lastRequest != 0 && since < MinGap)
            await Task.Delay(MinGap - since, cancel);
        _lastRequest = Stopwatch.GetTimestamp();

        var result = await read(_index, cancel);
        if (!result.Ok)
        {
            fail(result.Error!);
            _index = 0;
            return false;
        }
        _backoff.Reset();
        _index = result.Index == 0 || result.Index < _index ? 0 : result.Index;
        await apply(result, cancel);
        return true;
    }

    /// <summary>Reads until <paramref name="stop"/>; a failure waits out the backoff, and never ends the loop.</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                if (!await SyncOnceAsync(stop))
                    await Task.Delay(_backoff.Next(), stop);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                fail(e.Message);
                await Task.Delay(_backoff.Next(), stop).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }
}
