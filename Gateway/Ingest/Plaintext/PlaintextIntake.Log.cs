using Microsoft.Extensions.Logging;

namespace Polymur.Gateway.Ingest.Plaintext;

internal sealed partial class PlaintextIntake
{
    [LoggerMessage(EventId = 251, Level = LogLevel.Warning, Message = "Plaintext listener: stopped reading from {Peer} until the gateway can take its lines: {Reason} ({Suppressed} more stalls not logged)")]
    private partial void LogStalled(string peer, string reason, long suppressed);

    [LoggerMessage(EventId = 252, Level = LogLevel.Information, Message = "Plaintext listener: read from {Peer} again after {Seconds:0.0}s, last held up by {Reason} ({Suppressed} more not logged)")]
    private partial void LogStallEnded(string peer, double seconds, string reason, long suppressed);

    [LoggerMessage(EventId = 942, Level = LogLevel.Warning, Message = "Plaintext listener: dropped an unfinished last line (no LF) from {Peer}: {How}, and it may be cut short ({Suppressed} more not logged)")]
    private partial void LogUnfinishedDropped(string peer, string how, long suppressed);
}
