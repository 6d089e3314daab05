using System.Diagnostics;

namespace Polymur.Gateway.Tests.Support;

/// <summary>Samples a process's resident memory every 50 ms and keeps the peak.</summary>
public sealed class RssSampler : IAsyncDisposable
{
    private readonly int _pid;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private long _peak;

    public RssSampler(int pid)
    {
        _pid = pid;
        _loop = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                long now = Of(_pid);
                if (now > Interlocked.Read(ref _peak))
                    Interlocked.Exchange(ref _peak, now);
                await Task.Delay(50);
            }
        });
    }

    public long Peak => Interlocked.Read(ref _peak);

    public long Current => Of(_pid);

    /// <summary>
    /// Waits until the peak has grown by less than 1 MiB for <paramref name="still"/>: the process holds what the
    /// load in place makes it hold. A slow machine gets there later, and is waited for; false after the timeout.
    /// </summary>
    public async Task<bool> SettledAsync(TimeSpan still, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        long mark = Peak;
        var since = clock.Elapsed;
        while (clock.Elapsed < timeout)
        {
            await Task.Delay(100);
            if (Peak > mark + (1 << 20))
            {
                mark = Peak;
                since = clock.Elapsed;
            }
            else if (clock.Elapsed - since >= still)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>VmRSS in bytes, or 0 once the process is gone.</summary>
    public static long Of(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        }
        catch (Exception)
        {
            return 0;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await _loop;
    }
}
