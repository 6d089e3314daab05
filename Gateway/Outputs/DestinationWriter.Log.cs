using Microsoft.Extensions.Logging;

namespace Polymur.Gateway.Outputs;

internal sealed partial class DestinationWriter
{
    [LoggerMessage(EventId = 431, Level = LogLevel.Information, Message = "Destination {Destination} connected")]
    private partial void LogConnected(string destination);

    [LoggerMessage(EventId = 432, Level = LogLevel.Information, Message = "Destination {Destination} connected after {FailedAttempts} failed attempts, {DownSeconds:0.0}s without a connection")]
    private partial void LogReconnected(string destination, int failedAttempts, double downSeconds);

    [LoggerMessage(EventId = 433, Level = LogLevel.Warning, Message = "Destination {Destination} unreachable: {Reason}; retrying with backoff, logged again once it connects")]
    private partial void LogUnreachable(string destination, string reason);

    [LoggerMessage(EventId = 434, Level = LogLevel.Warning, Message = "Destination {Destination} disconnected: {Reason}; lines it did not take whole will be sent again")]
    private partial void LogDisconnected(string destination, string reason);

    [LoggerMessage(EventId = 435, Level = LogLevel.Warning, Message = "Destination {Destination}: {Points} queued points dropped ({Reason})")]
    private partial void LogDroppedAtStop(string destination, long points, DropReason reason);

    [LoggerMessage(EventId = 436, Level = LogLevel.Warning, Message = "Destination {Destination} declared down: nothing acknowledged for {Seconds:0.#}s (-destination-timeout) with {Outstanding} bytes outstanding; reconnecting, and what it did not acknowledge will be sent again")]
    private partial void LogNoProgress(string destination, double seconds, long outstanding);

    [LoggerMessage(EventId = 437, Level = LogLevel.Error, Message = "Destination {Destination}: writer error {Type}: {Reason} ({Suppressed} more since the last such line); the writer carries on")]
    private partial void LogLoopError(string destination, string type, string reason, long suppressed, Exception exception);

    [LoggerMessage(EventId = 438, Level = LogLevel.Critical, Message = "Destination {Destination}: its writer stopped without being asked to; /healthz fails")]
    private partial void LogWriterEnded(string destination);
}
