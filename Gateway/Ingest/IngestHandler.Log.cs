using Microsoft.Extensions.Logging;

namespace Polymur.Gateway.Ingest;

internal sealed partial class IngestHandler
{
    [LoggerMessage(EventId = 201, Level = LogLevel.Information, Message = "Ping from {Client} (X-Forwarded-For {Forwarded}), key name {KeyName}; {Suppressed} more pings not logged")]
    private partial void LogPing(string client, string forwarded, string keyName, long suppressed);

    [LoggerMessage(EventId = 202, Level = LogLevel.Warning, Message = "Invalid key {Key} from {Client} (X-Forwarded-For {Forwarded}); {Suppressed} more refusals not logged")]
    private partial void LogInvalidKey(string client, string forwarded, string key, long suppressed);

    [LoggerMessage(EventId = 203, Level = LogLevel.Information, Message = "Malformed batch from {Client} (X-Forwarded-For {Forwarded}), key name {KeyName}; {Suppressed} more not logged")]
    private partial void LogMalformed(string client, string forwarded, string keyName, long suppressed);

    [LoggerMessage(EventId = 204, Level = LogLevel.Debug, Message = "Batch from {Client} (X-Forwarded-For {Forwarded}), key name {KeyName}: {Valid} lines, {Invalid} invalid, {Members} gzip members")]
    private partial void LogBatch(string client, string forwarded, string keyName, int valid, int invalid, int members);

    [LoggerMessage(EventId = 205, Level = LogLevel.Information, Message = "Broken request body from {Client} (X-Forwarded-For {Forwarded}), key name {KeyName}: {Reason}; {Suppressed} more not logged")]
    private partial void LogBrokenBody(string client, string forwarded, string keyName, string reason, long suppressed);

    [LoggerMessage(EventId = 206, Level = LogLevel.Information, Message = "Tenant {KeyName} over its rate limit ({Limit}): batch refused with 429, retry in {Seconds}s; {Suppressed} more not logged")]
    private partial void LogOverQuota(string keyName, string limit, long seconds, long suppressed);

    [LoggerMessage(EventId = 901, Level = LogLevel.Information, Message = "Batch from {Client}, key name {KeyName}, refused with 503: {Reason}; {Suppressed} more not logged")]
    private partial void LogBusy(string client, string keyName, string reason, long suppressed);
}
