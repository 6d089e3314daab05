using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Logging;
using Polymur.Gateway.Primitives;

namespace Polymur.Gateway.Keys;

/// <summary>
/// API keys from Consul KV, kept current with blocking queries so a deleted or changed key is refused
/// within about a second. Requests read an immutable snapshot through <see cref="IKeyCache"/>; the sync
/// loop swaps it. Consul's rules are followed: the index resets when it goes backwards or is 0, errors back
/// off up to a cap, the loop is rate-limited, and a return without change is normal. An outage keeps the
/// cache as it is and is logged once.
/// </summary>
public sealed partial class ConsulKeySource : IKeyCache, IAsyncDisposable
{
    private static readonly TimeSpan MinGap = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan InitialFetchTimeout = TimeSpan.FromSeconds(5);

    private readonly ConsulKvClient _client;
    private readonly ILogger<ConsulKeySource> _log;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _firstSync = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly HashSet<string> _reportedProblems = [];
    private ConsulKeySet _keys = ConsulKeySet.Empty;
    private KeySyncStatus _status;
    private Backoff _backoff = new(TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(5));
    private ulong _index;
    private long _lastRequest;
    private long? _outageStarted;
    private Task _loop = Task.CompletedTask;

    private readonly string? _reservedName;

    /// <param name="reservedName">A name refused to every key (see <see cref="ConsulKeySet.From"/>).</param>
    public ConsulKeySource(ConsulKvClient client, ILogger<ConsulKeySource> log, string? reservedName = null)
    {
        _client = client;
        _reservedName = reservedName;
        _log = log;
        _status = new KeySyncStatus("consul", 0, false, null, null, null, 0);
    }

    private string Prefix => _client.Settings.Prefix;

    public int Count => Volatile.Read(ref _keys).Snapshot.Count;

    public KeySyncStatus Status => Volatile.Read(ref _status);

    /// <summary>Completes at the first successful read of the keys.</summary>
    public Task FirstSync => _firstSync.Task;

    public bool TryGetName(ReadOnlySpan<char> key, out string name) => Volatile.Read(ref _keys).Snapshot.TryGetName(key, out name);

    /// <summary>Reads the keys once (briefly: the gateway starts without them if Consul is down), then keeps them current.</summary>
    public async Task StartAsync()
    {
        LogStarting(_client.Settings.Address.ToString(), Prefix, _client.Settings.Token is null ? "no token" : "a token");
        using var first = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        first.CancelAfter(InitialFetchTimeout);
        try
        {
            await SyncOnceAsync(first.Token);
        }
        catch (OperationCanceledException) when (!_stop.IsCancellationRequested)
        {
            Fail($"no answer from {_client.Settings.Address} within {InitialFetchTimeout.TotalSeconds:0}s");
        }
        if (!_firstSync.Task.IsCompleted)
            LogStartedWithoutKeys();
        _loop = Task.Run(LoopAsync);
    }

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                if (!await SyncOnceAsync(_stop.Token))
                    await Task.Delay(_backoff.Next(), _stop.Token);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                Fail(e.Message);
                await Task.Delay(_backoff.Next(), _stop.Token).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    /// <summary>One (blocking, once an index is known) read of the keys. False when it failed.</summary>
    private async Task<bool> SyncOnceAsync(CancellationToken cancel)
    {
        // Rate limit: whatever Consul answers, at most one request per MinGap.
        var since = Stopwatch.GetElapsedTime(_lastRequest);
        if (_lastRequest != 0 && since < MinGap)
            await Task.Delay(MinGap - since, cancel);
        _lastRequest = Stopwatch.GetTimestamp();

        var result = await _client.ListAsync(Prefix, _index, _client.Settings.SyncInterval, cancel);
        if (!result.Ok)
        {
            // A 403, a 5xx or a transport error never changes the cache. Start over with a plain read: a
            // restarted agent has a smaller index, and blocking on the old one could wait out the whole wait.
            Fail(result.Error!);
            _index = 0;
            return false;
        }
        _backoff.Reset();
        ulong next = result.Index;
        if (next == 0 || next < _index)
            next = 0; // Consul: an index that goes backwards (or is 0) means start over.

        var keys = result.NotFound && Volatile.Read(ref _keys).Names.Count > 0 && !await EmptyListIsTrustedAsync(cancel)
            ? Volatile.Read(ref _keys)
            : ConsulKeySet.From(result.Entries, Prefix, _reservedName);
        _index = next;
        // Status first, then the keys: whoever sees the new keys also sees Consul as reachable.
        Succeeded(next, keys.Snapshot.Count);
        Apply(keys);
        return true;
    }

    // An empty list is a 404 both when the keys are gone and when ACLs hide them from this token. A direct
    // read of a key we hold tells the two apart: 404 when it is really gone, 403 when we may not read it.
    private async Task<bool> EmptyListIsTrustedAsync(CancellationToken cancel)
    {
        var probe = Volatile.Read(ref _keys).Names.Values.First().Path;
        var read = await _client.GetAsync(probe, cancel);
        if (read.Ok && read.NotFound)
            return true;
        LogUntrustedEmptyList(read.Status == HttpStatusCode.Forbidden ? "the token may not read the keys (403)" : read.Error ?? "a key is still readable", Count);
        return false;
    }

    private void Apply(ConsulKeySet keys)
    {
        var before = Volatile.Read(ref _keys);
        Volatile.Write(ref _keys, keys);
        var (added, removed, changed) = keys.DiffFrom(before);
        if (added + removed + changed > 0 || !_firstSync.Task.IsCompleted)
            LogRefreshed(added, removed, changed, keys.Snapshot.Count);
        _firstSync.TrySetResult();
        foreach (var problem in keys.Problems)
        {
            if (_reportedProblems.Add(problem))
                LogProblem(problem);
        }
        _reportedProblems.IntersectWith(keys.Problems);
    }

    private void Succeeded(ulong index, int keys)
    {
        if (_outageStarted is { } started)
        {
            LogRecovered(Stopwatch.GetElapsedTime(started).TotalSeconds, keys);
            _outageStarted = null;
        }
        Volatile.Write(ref _status, new KeySyncStatus("consul", keys, true, DateTimeOffset.UtcNow, null, null, index));
    }

    private void Fail(string error)
    {
        if (_outageStarted is null)
        {
            _outageStarted = Stopwatch.GetTimestamp();
            LogOutage(error, Count);
        }
        var status = Status;
        Volatile.Write(ref _status, status with
        {
            Keys = Count,
            Reachable = false,
            OutageSince = status.OutageSince ?? DateTimeOffset.UtcNow,
            LastError = error,
        });
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await _loop;
        _client.Dispose();
    }
}
