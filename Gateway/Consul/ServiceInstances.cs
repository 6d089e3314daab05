using Microsoft.Extensions.Logging;

namespace Polymur.Gateway.Consul;

/// <summary>
/// How many instances of a service pass their checks, watched with blocking queries. An outage keeps the
/// last count: dividing by a guess would be worse than dividing by what was last true.
/// </summary>
public sealed partial class ServiceInstances : IAsyncDisposable
{
    private readonly ConsulClient _client;
    private readonly string _service;
    private readonly Action<int> _changed;
    private readonly ILogger<ServiceInstances> _log;
    private readonly ConsulWatch<ServiceHealth> _watch;
    private readonly CancellationTokenSource _stop = new();
    private bool _failing;
    private int _passing = -1;
    private Task _loop = Task.CompletedTask;

    public ServiceInstances(ConsulClient client, string service, Action<int> changed, ILogger<ServiceInstances> log)
    {
        _client = client;
        _service = service;
        _changed = changed;
        _log = log;
        _watch = new ConsulWatch<ServiceHealth>((index, cancel) => _client.PassingAsync(_service, index, _client.Settings.SyncInterval, cancel), ApplyAsync, Fail);
    }

    /// <summary>The passing instances last seen; -1 before the first answer.</summary>
    public int Passing => Volatile.Read(ref _passing);

    public void Start() => _loop = Task.Run(() => _watch.RunAsync(_stop.Token));

    private Task ApplyAsync(ConsulResult<ServiceHealth> result, CancellationToken cancel)
    {
        if (_failing)
        {
            _failing = false;
            LogRecovered(_service);
        }
        int passing = result.Entries.Length;
        if (Interlocked.Exchange(ref _passing, passing) != passing)
            _changed(passing);
        return Task.CompletedTask;
    }

    private void Fail(string error)
    {
        if (_failing)
            return;
        _failing = true;
        LogOutage(_service, error, Passing);
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await _loop;
    }

    [LoggerMessage(EventId = 801, Level = LogLevel.Warning, Message = "Cannot read the passing instances of {Service}: {Error}; keeping the last count ({Passing})")]
    private partial void LogOutage(string service, string error, int passing);

    [LoggerMessage(EventId = 802, Level = LogLevel.Information, Message = "Reading the passing instances of {Service} again")]
    private partial void LogRecovered(string service);
}
