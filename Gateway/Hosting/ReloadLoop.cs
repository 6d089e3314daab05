using Polymur.Gateway.Primitives;

namespace Polymur.Gateway.Hosting;

/// <summary>
/// The one thread that rereads the files the gateway serves from (<see cref="IReloadable"/>): once a second to
/// see a change, and at once when <see cref="Request"/> is called (SIGHUP). It is a thread of its own, so a read
/// that blocks (a hung network mount) stalls only the reloads, never a request, the thread pool or a signal
/// handler; signals only set a flag and wake it, so a storm of them costs one reload, not one thread each.
/// </summary>
internal sealed partial class ReloadLoop : IAsyncDisposable
{
    private readonly IReadOnlyList<IReloadable> _parts;
    private readonly TimeSpan _interval;
    private readonly ILogger<ReloadLoop> _log;
    private readonly AutoResetEvent _wake = new(false);
    private readonly LogLimiter _errors = new(TimeSpan.FromSeconds(10));
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly System.Collections.Concurrent.ConcurrentQueue<Action> _posted = new();
    private int _requested;
    private long _requests, _passes;
    private volatile bool _stopping;
    private Thread? _thread;

    public ReloadLoop(IReadOnlyList<IReloadable> parts, TimeSpan interval, ILogger<ReloadLoop> log)
    {
        _parts = parts;
        _interval = interval;
        _log = log;
    }

    /// <summary>What SIGHUP reloads, for the log: "the TLS certificate", or "nothing".</summary>
    public string What => _parts.Count == 0 ? "nothing (no -cert)" : string.Join(", ", _parts.Select(p => p.What));

    /// <summary>Reload requests made (SIGHUPs), however many were folded into one pass.</summary>
    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>Forced passes run: at most one per request, fewer when requests come faster than a pass.</summary>
    public long Passes => Interlocked.Read(ref _passes);

    /// <summary>Asks for a forced reload; returns at once (it is called from a signal handler).</summary>
    public void Request()
    {
        Interlocked.Increment(ref _requests);
        Volatile.Write(ref _requested, 1);
        _wake.Set();
    }

    /// <summary>
    /// Runs <paramref name="work"/> (a log line) on the loop's thread, so a signal handler never waits on the log.
    /// Callers rate-limit; past 16 waiting (the thread stuck in a read) more are dropped.
    /// </summary>
    public void Post(Action work)
    {
        if (_posted.Count < 16)
            _posted.Enqueue(work);
        _wake.Set();
    }

    public void Start()
    {
        if (_thread is not null)
            return;
        _thread = new Thread(Run) { IsBackground = true, Name = "polymur-reload" };
        _thread.Start();
    }

    private void Run()
    {
        try
        {
            while (!_stopping)
            {
                // With nothing to watch, only a request wakes it.
                _wake.WaitOne(_parts.Count == 0 ? Timeout.InfiniteTimeSpan : _interval);
                if (_stopping)
                    break;
                while (_posted.TryDequeue(out var work))
                    Run(work, "a log line");
                bool forced = Interlocked.Exchange(ref _requested, 0) == 1;
                if (forced)
                    Interlocked.Increment(ref _passes);
                foreach (var part in _parts)
                    Run(() => part.Reload(forced), part.What);
            }
        }
        finally
        {
            _done.TrySetResult();
        }
    }

    private void Run(Action work, string what)
    {
        try
        {
            work();
        }
        catch (Exception e)
        {
            // A part's own bad reads are its to count and log; this is a bug, kept from ending the loop.
            if (_errors.TryEnter(out long held))
                LogFailed(what, e.GetType().Name, e.Message, held);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stopping = true;
        _wake.Set();
        if (_thread is not null)
        {
            // A read stuck on a hung mount must not hold the shutdown: the thread is a background one.
            await Task.WhenAny(_done.Task, Task.Delay(TimeSpan.FromSeconds(2)));
        }
    }

    [LoggerMessage(EventId = 934, Level = LogLevel.Error, Message = "Reloading {What} failed: {Type}: {Error} ({Held} more since the last such line)")]
    private partial void LogFailed(string what, string type, string error, long held);
}
