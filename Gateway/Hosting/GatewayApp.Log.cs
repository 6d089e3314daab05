namespace Polymur.Gateway.Hosting;

public sealed partial class GatewayApp
{
    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "Listening for ingest on {Address}")]
    private partial void LogListening(string address);

    [LoggerMessage(EventId = 102, Level = LogLevel.Information, Message = "Plaintext (Graphite line protocol) listening on tcp://{Address}, lines attributed to tenant {Tenant}")]
    private partial void LogPlaintextListening(string address, string tenant);

    [LoggerMessage(EventId = 103, Level = LogLevel.Information, Message = "Admin API listening on {Address}")]
    private partial void LogAdminListening(string address);

    [LoggerMessage(EventId = 104, Level = LogLevel.Information, Message = "Stats listening on {Address} (/stats, /metrics, /healthz, /readyz)")]
    private partial void LogStatsListening(string address);

    [LoggerMessage(EventId = 105, Level = LogLevel.Warning, Message = "{Listener} on {Address} is reachable from other hosts; bind it to localhost unless that is intended")]
    private partial void LogExposed(string listener, string address);

    [LoggerMessage(EventId = 106, Level = LogLevel.Information, Message = "polymur-gateway started: {Destinations} destinations, distribution {Distribution}, -key-prefix {KeyPrefix}")]
    private partial void LogStarted(int destinations, string distribution, string keyPrefix);

    [LoggerMessage(EventId = 107, Level = LogLevel.Warning, Message = "Dev mode: Consul is not used; the only valid API key is '123' (name 'dev')")]
    private partial void LogDevMode();

    [LoggerMessage(EventId = 108, Level = LogLevel.Information, Message = "Stopping: no new batches; draining {Queued} queued points for up to {Seconds}s")]
    private partial void LogDraining(long queued, double seconds);

    [LoggerMessage(EventId = 109, Level = LogLevel.Information, Message = "Stopped: {Received} lines accepted in {Batches} batches; {Delivered} points delivered, {Dropped} dropped in all")]
    private partial void LogStopped(long received, long batches, long delivered, long dropped);

    [LoggerMessage(EventId = 110, Level = LogLevel.Warning, Message = "-max-connections {MaxConnections} does not fit the open-file limit {Limit} (the gateway needs about {Reserve} more): past it new connections fail; raise LimitNOFILE or lower -max-connections")]
    private partial void LogFewFiles(int maxConnections, long limit, int reserve);

    [LoggerMessage(EventId = 111, Level = LogLevel.Warning, Message = "No -spool-dir: while a destination is down, what does not fit in its queue ({QueueCap} points) is dropped, and a slow one makes requests wait, then 503")]
    private partial void LogNoSpool(int queueCap);
}
