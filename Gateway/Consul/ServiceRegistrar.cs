using Microsoft.Extensions.Logging;

namespace Polymur.Gateway.Consul;

/// <summary>
/// -consul-register: puts this gateway in Consul's catalog through the local agent at start, with an HTTP
/// check on /healthz, and takes it out at shutdown, so load balancers and consul-template follow the
/// instances. A gateway that dies without deregistering is removed by the agent once its check has failed
/// for a minute. A registration that fails is logged and retried; it never stops the gateway.
/// </summary>
public sealed partial class ServiceRegistrar(ConsulClient client, ServiceRegistration registration, ILogger<ServiceRegistrar> log) : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;
    private volatile bool _registered;

    public string ServiceId => registration.Id;

    public bool Registered => _registered;

    public void Start() => _loop = Task.Run(LoopAsync);

    // Registers, and registers again every 30 s: an agent restarted in dev mode, or with its state lost,
    // forgets its services, and a registration is idempotent.
    private async Task LoopAsync()
    {
        bool failing = false;
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await client.RegisterAsync(registration, _stop.Token);
                if (!_registered || failing)
                    LogRegistered(registration.Name, registration.Id, registration.Port, registration.Check?.Http ?? "-");
                _registered = true;
                failing = false;
                await Task.Delay(TimeSpan.FromSeconds(30), _stop.Token);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (ConsulException e)
            {
                if (!failing)
                    LogRegisterFailed(registration.Id, e.Message);
                failing = true;
                await Task.Delay(TimeSpan.FromSeconds(2), _stop.Token).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    /// <summary>Stops re-registering and deregisters (at SIGTERM, before the drain, so balancers stop sending first).</summary>
    public async Task DeregisterAsync()
    {
        _stop.Cancel();
        await _loop;
        if (!_registered)
            return;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await client.DeregisterAsync(registration.Id, timeout.Token);
            _registered = false;
            LogDeregistered(registration.Id);
        }
        catch (Exception e) when (e is ConsulException or OperationCanceledException)
        {
            LogDeregisterFailed(registration.Id, e.Message);
        }
    }

    public async ValueTask DisposeAsync() => await DeregisterAsync();

    [LoggerMessage(EventId = 831, Level = LogLevel.Information, Message = "Registered in Consul as {Service} ({Id}), port {Port}, check {Check}")]
    private partial void LogRegistered(string service, string id, int port, string check);

    [LoggerMessage(EventId = 832, Level = LogLevel.Warning, Message = "Consul registration of {Id} failed: {Error}; retrying")]
    private partial void LogRegisterFailed(string id, string error);

    [LoggerMessage(EventId = 833, Level = LogLevel.Information, Message = "Deregistered {Id} from Consul")]
    private partial void LogDeregistered(string id);

    [LoggerMessage(EventId = 834, Level = LogLevel.Warning, Message = "Consul deregistration of {Id} failed: {Error}; the agent removes it once its check has failed for a minute")]
    private partial void LogDeregisterFailed(string id, string error);
}
