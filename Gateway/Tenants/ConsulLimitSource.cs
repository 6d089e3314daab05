using Microsoft.Extensions.Logging;
using Polymur.Gateway.Consul;
using Polymur.Gateway.Keys;

namespace Polymur.Gateway.Tenants;

/// <summary>
/// Tenant limits from Consul KV (<c>&lt;limits prefix&gt;&lt;name&gt;</c>, see <see cref="TenantLimit"/>), watched
/// like the keys, so a change applies within a second. A bad value is logged once and its tenant falls back to
/// -tenant-rate-limit; an outage keeps the limits last read.
/// </summary>
public sealed partial class ConsulLimitSource : IAsyncDisposable
{
    private readonly ConsulClient _client;
    private readonly string _prefix;
    private readonly TenantRegistry _tenants;
    private readonly ILogger<ConsulLimitSource> _log;
    private readonly ConsulWatch<KvEntry> _watch;
    private readonly CancellationTokenSource _stop = new();
    private readonly HashSet<string> _reported = [];
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
        var (limits, problems) = Parse(result.Entries, _prefix);
        foreach (var problem in problems.Where(_reported.Add))
            LogProblem(problem);
        _reported.IntersectWith(problems);
        _tenants.SetLimits(limits);
        return Task.CompletedTask;
    }

    /// <summary>The valid limits under <paramref name="prefix"/>, and a line for each entry that is not one.</summary>
    public static (Dictionary<string, TenantLimit> Limits, List<string> Problems) Parse(IEnumerable<KvEntry> entries, string prefix)
    {
        var limits = new Dictionary<string, TenantLimit>(StringComparer.Ordinal);
        var problems = new List<string>();
        foreach (var entry in entries)
        {
            if (!entry.Key.StartsWith(prefix, StringComparison.Ordinal))
                continue;
            string name = entry.Key[prefix.Length..];
            if (name.Length == 0)
                continue; // the folder itself
            if (!KeyNames.IsValid(name))
                problems.Add($"{entry.Key}: not a key name ({KeyNames.Rule}); ignored");
            else if (!TenantLimit.TryParse(entry.Value ?? [], out var limit, out string error))
                problems.Add($"{entry.Key}: {error}; the tenant gets the default (-tenant-rate-limit)");
            else
                limits[name] = limit;
        }
        return (limits, problems);
    }

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
