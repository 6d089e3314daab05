using Microsoft.Extensions.Logging;
using Polymur.Gateway.Consul;
using Polymur.Gateway.Keys;

namespace Polymur.Gateway.Tenants;

/// <summary>
/// Tenant limits from Consul KV (<c>&lt;limits prefix&gt;&lt;name&gt;</c>, see <see cref="TenantLimit"/>), watched
/// like the keys, so a change applies within a second. A value that cannot be used (malformed, or out of
/// <see cref="TenantLimit.Ranges"/>) is logged once and its tenant keeps the last good limit read for it, or, with
/// none since the start, -tenant-rate-limit: a typo never lifts a quota. An outage keeps the limits last read.
/// </summary>
public sealed partial class ConsulLimitSource : IAsyncDisposable
{
    private readonly ConsulClient _client;
    private readonly string _prefix;
    private readonly TenantRegistry _tenants;
    private readonly ILogger<ConsulLimitSource> _log;
    private readonly ConsulWatch<KvEntry> _watch;
    private readonly CancellationTokenSource _stop = new();
    private readonly HashSet<(string, ulong)> _reported = [];
    private Dictionary<string, TenantLimit> _lastGood = new(StringComparer.Ordinal);
    private bool _failing;
    private Task _loop = Task.CompletedTask;

    public ConsulLimitSource(ConsulClient client, TenantRegistry tenants, ILogger<ConsulLimitSource> log)
    {
        _client = client;
        _prefix = PrefixFor(client.Settings.Prefix);
        _tenants = tenants;
        _log = log;
        _watch = new ConsulWatch<KvEntry>((index, cancel) => _client.ListAsync(_prefix, index, _client.Settings.SyncInterval, cancel), ApplyAsync, Fail);
    }

    /// <summary>The limits folder: a sibling of the keys folder, <c>polymur/gateway/limits/</c> beside <c>polymur/gateway/keys/</c>.</summary>
    public static string PrefixFor(string keyPrefix)
    {
        string trimmed = keyPrefix.TrimEnd('/');
        int slash = trimmed.LastIndexOf('/');
        return (slash < 0 ? "" : trimmed[..(slash + 1)]) + "limits/";
    }

    public string Prefix => _prefix;

    /// <summary>Reads the limits once (briefly), then keeps them current.</summary>
    public async Task StartAsync()
    {
        using var first = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        first.CancelAfter(TimeSpan.FromSeconds(5));
        try
        {
            await _watch.SyncOnceAsync(first.Token);
        }
        catch (OperationCanceledException) when (!_stop.IsCancellationRequested)
        {
            Fail("no answer within 5s");
        }
        _loop = Task.Run(() => _watch.RunAsync(_stop.Token));
    }

    private Task ApplyAsync(ConsulResult<KvEntry> result, CancellationToken cancel)
    {
        if (_failing)
        {
            _failing = false;
            LogRecovered();
        }
        var (limits, problems) = Parse(result.Entries, _prefix, _lastGood);
        // Once per value written (its modify index), not once per read: a problem that stays is not logged again.
        var current = problems.Select(p => (p.Text, p.Version)).ToList();
        foreach (var (text, _) in current.Where(_reported.Add))
            LogProblem(text);
        _reported.IntersectWith(current);
        _lastGood = limits;
        _tenants.SetLimits(limits);
        return Task.CompletedTask;
    }

    /// <summary>
    /// The limits under <paramref name="prefix"/>, and a line for each entry that cannot be used. Such an entry keeps
    /// its tenant's limit in <paramref name="lastGood"/> (what the previous read gave it), or has none, so that the
    /// default applies. An entry that is gone is gone: its tenant gets the default.
    /// </summary>
    public static (Dictionary<string, TenantLimit> Limits, List<LimitProblem> Problems) Parse(IEnumerable<KvEntry> entries, string prefix, IReadOnlyDictionary<string, TenantLimit>? lastGood = null)
    {
        var limits = new Dictionary<string, TenantLimit>(StringComparer.Ordinal);
        var problems = new List<LimitProblem>();
        foreach (var entry in entries)
        {
            if (!entry.Key.StartsWith(prefix, StringComparison.Ordinal))
                continue;
            string name = entry.Key[prefix.Length..];
            if (name.Length == 0)
                continue; // the folder itself
            if (!KeyNames.IsValid(name))
            {
                problems.Add(new(entry.ModifyIndex, $"{entry.Key}: not a key name ({KeyNames.Rule}); ignored"));
            }
            else if (!TenantLimit.TryParse(entry.Value ?? [], out var limit, out string error))
            {
                if (lastGood is not null && lastGood.TryGetValue(name, out var kept))
                {
                    limits[name] = kept;
                    problems.Add(new(entry.ModifyIndex, $"{entry.Key}: {error}; the tenant keeps its last good limit ({kept})"));
                }
                else
                {
                    problems.Add(new(entry.ModifyIndex, $"{entry.Key}: {error}; the tenant gets the default (-tenant-rate-limit) until it is fixed"));
                }
            }
            else
            {
                limits[name] = limit;
            }
        }
        return (limits, problems);
    }

    /// <summary>One entry that cannot be used, as logged, and the version of it (Consul's modify index).</summary>
    public readonly record struct LimitProblem(ulong Version, string Text);

    private void Fail(string error)
    {
        if (_failing)
            return;
        _failing = true;
        LogOutage(error);
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await _loop;
    }

    [LoggerMessage(EventId = 701, Level = LogLevel.Warning, Message = "Tenant limit problem: {Problem}")]
    private partial void LogProblem(string problem);

    [LoggerMessage(EventId = 702, Level = LogLevel.Warning, Message = "Consul limit sync failing: {Error}; keeping the limits last read; logged again when it recovers")]
    private partial void LogOutage(string error);

    [LoggerMessage(EventId = 703, Level = LogLevel.Information, Message = "Consul limit sync recovered")]
    private partial void LogRecovered();
}
