using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Logging;
using Polymur.Gateway.Consul;

namespace Polymur.Gateway.Keys;

/// <summary>
/// API keys from Consul KV, kept current by a <see cref="ConsulWatch{T}"/> so a deleted or changed key is refused
/// within about a second. Requests read an immutable snapshot through <see cref="IKeyCache"/>; the watch
/// swaps it. An outage keeps the cache as it is and is logged once.
/// </summary>
public sealed partial class ConsulKeySource : IKeyCache, IAsyncDisposable
{
    private static readonly TimeSpan InitialFetchTimeout = TimeSpan.FromSeconds(5);

    private readonly ConsulClient _client;
    private readonly ILogger<ConsulKeySource> _log;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _firstSync = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly HashSet<string> _reportedProblems = [];
    private readonly ConsulWatch<KvEntry> _watch;
    private ConsulKeySet _keys = ConsulKeySet.Empty;
    private KeySyncStatus _status;
    private long? _outageStarted;
    private Task _loop = Task.CompletedTask;

    private readonly string? _reservedName;

    /// <param name="reservedName">A name refused to every key (see <see cref="ConsulKeySet.From"/>).</param>
    public ConsulKeySource(ConsulClient client, ILogger<ConsulKeySource> log, string? reservedName = null)
    {
        _client = client;
        _reservedName = reservedName;
        _log = log;
        _status = new KeySyncStatus("consul", 0, false, null, null, null, 0);
        _watch = new ConsulWatch<KvEntry>((index, cancel) => _client.ListAsync(Prefix, index, _client.Settings.SyncInterval, cancel), ApplyAsync, Fail);
    }

    private string Prefix => _client.Settings.Prefix;

    public int Count => Volatile.Read(ref _keys).Snapshot.Count;

    /// <summary>The valid key names now.</summary>
    public IEnumerable<string> Names => Volatile.Read(ref _keys).Names.Keys;

    public bool HasName(string name) => Volatile.Read(ref _keys).Snapshot.HasName(name);

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
            await _watch.SyncOnceAsync(first.Token);
        }
        catch (OperationCanceledException) when (!_stop.IsCancellationRequested)
        {
            Fail($"no answer from {_client.Settings.Address} within {InitialFetchTimeout.TotalSeconds:0}s");
        }
        if (!_firstSync.Task.IsCompleted)
            LogStartedWithoutKeys();
        _loop = Task.Run(() => _watch.RunAsync(_stop.Token));
    }

    private async Task ApplyAsync(ConsulResult<KvEntry> result, CancellationToken cancel)
    {
        var keys = result.NotFound && Volatile.Read(ref _keys).Names.Count > 0 && !await EmptyListIsTrustedAsync(cancel)
            ? Volatile.Read(ref _keys)
            : ConsulKeySet.From(result.Entries, Prefix, _reservedName);
        // Status first, then the keys: whoever sees the new keys also sees Consul as reachable.
        Succeeded(_watch.Index, keys.Snapshot.Count);
        Apply(keys);
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
