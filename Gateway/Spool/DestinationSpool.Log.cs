using Microsoft.Extensions.Logging;

namespace Polymur.Gateway.Spool;

internal sealed partial class DestinationSpool
{
    [LoggerMessage(EventId = 501, Level = LogLevel.Error, Message = "Spool of {Destination} in {Directory} cannot be written ({Reason}): what its queue cannot take is dropped and counted as spool_full; retrying every {Seconds:0}s")]
    private partial void LogWriteFailed(string destination, string directory, string reason, double seconds);

    [LoggerMessage(EventId = 502, Level = LogLevel.Information, Message = "Spool of {Destination} in {Directory} is writable again")]
    private partial void LogWritable(string destination, string directory);
}
