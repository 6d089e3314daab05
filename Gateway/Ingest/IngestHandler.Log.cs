using Microsoft.Extensions.Logging;

namespace Polymur.Gateway.Ingest;

internal sealed partial class IngestHandler
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Ping from {Client} (X-Forwarded-For {Forwarded}), key name {KeyName}")]
    private partial void LogPing(string client, string forwarded, string keyName);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Invalid key {Key} from {Client} (X-Forwarded-For {Forwarded}); {Suppressed} more refusals not logged")]
    private partial void LogInvalidKey(string client, string forwarded, string key, long suppressed);

    [LoggerMessage(Level = LogLevel.Information, Message = "Malformed batch from {Client} (X-Forwarded-For {Forwarded}), key name {KeyName}")]
    private partial void LogMalformed(string client, string forwarded, string keyName);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Batch from {Client} (X-Forwarded-For {Forwarded}), key name {KeyName}: {Valid} lines, {Invalid} invalid, {Members} gzip members")]
    private partial void LogBatch(string client, string forwarded, string keyName, int valid, int invalid, int members);
}
