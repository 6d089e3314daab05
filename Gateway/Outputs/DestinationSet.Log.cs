using Microsoft.Extensions.Logging;

namespace Polymur.Gateway.Outputs;

public sealed partial class DestinationSet
{
    [LoggerMessage(EventId = 401, Level = LogLevel.Warning, Message = "Destination {Destination}: {Points} points dropped, queue full ({Total} in all)")]
    private partial void LogQueueFullDrops(string destination, long points, long total);

    [LoggerMessage(EventId = 402, Level = LogLevel.Information, Message = "Destination {Destination} added; {Count} destinations now")]
    private partial void LogAdded(string destination, int count);

    [LoggerMessage(EventId = 403, Level = LogLevel.Information, Message = "Destination {Destination} removed: {Delivered} points delivered in all, {Dropped} dropped at removal")]
    private partial void LogRemoved(string destination, long delivered, long dropped);

    [LoggerMessage(EventId = 404, Level = LogLevel.Warning, Message = "Destination {Destination}: {Points} points dropped, spool full ({Total} in all)")]
    private partial void LogSpoolFullDrops(string destination, long points, long total);

    [LoggerMessage(EventId = 405, Level = LogLevel.Warning, Message = "Destination {Destination}: {Points} points refused with 503, its spool cannot take them ({Total} in all)")]
    private partial void LogSpoolRefusals(string destination, long points, long total);
}
