using Microsoft.Extensions.Logging;

namespace Polymur.Gateway.Ingest.Plaintext;

internal sealed partial class PlaintextListener
{
    [LoggerMessage(EventId = 271, Level = LogLevel.Warning, Message = "Plaintext listener: closed a new connection from {Peer}: {Max} open already (-tcp-max-connections), none of them idle ({Suppressed} more not logged)")]
    private partial void LogRefused(string peer, int max, long suppressed);

    [LoggerMessage(EventId = 272, Level = LogLevel.Error, Message = "Plaintext listener: accept failed: {Error} ({Suppressed} more not logged)")]
    private partial void LogAcceptFailed(string error, long suppressed);

    [LoggerMessage(EventId = 273, Level = LogLevel.Error, Message = "Plaintext listener: {Lines} lines read but not queued within {Seconds}s of the stop were lost")]
    private partial void LogLostAtStop(long lines, double seconds);

    [LoggerMessage(EventId = 941, Level = LogLevel.Warning, Message = "Plaintext listener: closed the connection from {Peer}, idle {Seconds:0.0}s, to make room for a new one: {Max} open (-tcp-max-connections) ({Suppressed} more not logged)")]
    private partial void LogEvicted(string peer, double seconds, int max, long suppressed);
}
