using Microsoft.Extensions.Logging;

namespace Polymur.Gateway.Spool;

internal sealed partial class SpoolSet
{
    [LoggerMessage(EventId = 541, Level = LogLevel.Information, Message = "Spool of {Destination}: {Points} points in {Files} files ({Bytes} bytes) found from before; replayed once it is connected")]
    private partial void LogRecovered(string destination, long points, long files, long bytes);

    [LoggerMessage(EventId = 542, Level = LogLevel.Warning, Message = "Spool of {Destination}: {Bytes} damaged bytes (a torn tail or corrupt records) cut off or skipped at start")]
    private partial void LogDamaged(string destination, long bytes);

    [LoggerMessage(EventId = 543, Level = LogLevel.Warning, Message = "Spool of {Destination} is kept but not replayed: that destination is not configured ({Files} files, {Bytes} bytes in {Directory}; see polymur-gateway spool cat)")]
    private partial void LogOrphan(string destination, long files, long bytes, string directory);

    [LoggerMessage(EventId = 544, Level = LogLevel.Error, Message = "Spool dir {Directory} cannot be listed ({Reason}): spools of destinations no longer configured are not looked for")]
    private partial void LogCannotList(string directory, string reason);
}
