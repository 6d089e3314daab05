using Microsoft.Extensions.Logging;

namespace Polymur.Gateway.Keys;

public sealed partial class ConsulKeySource
{
    [LoggerMessage(EventId = 301, Level = LogLevel.Information, Message = "API keys from Consul {Address}, prefix {Prefix}, with {Token}")]
    private partial void LogStarting(string address, string prefix, string token);

    [LoggerMessage(EventId = 302, Level = LogLevel.Warning, Message = "Started without API keys: every key is refused until Consul answers")]
    private partial void LogStartedWithoutKeys();

    [LoggerMessage(EventId = 303, Level = LogLevel.Information, Message = "API keys refreshed: {Added} new, {Removed} removed, {Changed} regenerated; {Count} valid")]
    private partial void LogRefreshed(int added, int removed, int changed, int count);

    [LoggerMessage(EventId = 304, Level = LogLevel.Warning, Message = "API key problem: {Problem}")]
    private partial void LogProblem(string problem);

    [LoggerMessage(EventId = 305, Level = LogLevel.Warning, Message = "Consul key sync failing: {Error}; keeping the {Count} cached keys; retrying, logged again when it recovers")]
    private partial void LogOutage(string error, int count);

    [LoggerMessage(EventId = 306, Level = LogLevel.Information, Message = "Consul key sync recovered after {Seconds:0.0}s; {Count} keys")]
    private partial void LogRecovered(double seconds, int count);

    [LoggerMessage(EventId = 307, Level = LogLevel.Warning, Message = "Consul listed no keys, but {Reason}; keeping the {Count} cached keys")]
    private partial void LogUntrustedEmptyList(string reason, int count);
}
