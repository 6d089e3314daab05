using Microsoft.Extensions.Logging;

namespace Polymur.Gateway.Spool;

internal sealed partial class DestinationSpool
{
    [LoggerMessage(EventId = 501, Level = LogLevel.Error, Message = "Spool of {Destination} in {Directory} cannot be written ({Reason}): appends are refused (spool_full) and retried every {Seconds:0}s")]
    private partial void LogWriteFailed(string destination, string directory, string reason, double seconds);

    [LoggerMessage(EventId = 502, Level = LogLevel.Information, Message = "Spool of {Destination} in {Directory} is writable again")]
    private partial void LogWritable(string destination, string directory);

    [LoggerMessage(EventId = 503, Level = LogLevel.Error, Message = "Spool of {Destination}: fsync of {Path} failed ({Reason}): the {Records} records ({Points} points) written since the last good fsync may not be on disk; writing them again to a new segment")]
    private partial void LogFsyncFailed(string destination, string path, string reason, int records, long points);

    [LoggerMessage(EventId = 504, Level = LogLevel.Warning, Message = "Spool of {Destination}: {Records} records ({Points} points) written again to {Path} and fsynced")]
    private partial void LogRewritten(string destination, string path, int records, long points);

    [LoggerMessage(EventId = 505, Level = LogLevel.Error, Message = "Spool of {Destination}: {Points} points in {Records} records could not be made durable ({Reason}): counted as lost (spool_lost_points, dropped as spool_corrupt) and not replayed")]
    private partial void LogLost(string destination, long points, int records, string reason);

    [LoggerMessage(EventId = 506, Level = LogLevel.Warning, Message = "Spool of {Destination} refused {Refused} appends: -spool-max-size is reached ({Used} of {Limit} bytes used by all spools)")]
    private partial void LogFull(string destination, long used, long limit, long refused);

    [LoggerMessage(EventId = 507, Level = LogLevel.Error, Message = "Spool of {Destination}: segment {Path} cannot be read ({Reason}): kept as it is with {Records} records not replayed for now; tried again every {Seconds:0}s (polymur-gateway spool list shows it)")]
    private partial void LogUnreadable(string destination, string path, string reason, int records, double seconds);

    [LoggerMessage(EventId = 508, Level = LogLevel.Error, Message = "Spool of {Destination}: segment {Path} was delivered but cannot be deleted ({Reason}): kept, its {Bytes} bytes still count against -spool-max-size; tried again every {Seconds:0}s")]
    private partial void LogUndeletable(string destination, string path, string reason, long bytes, double seconds);

    [LoggerMessage(EventId = 509, Level = LogLevel.Error, Message = "Spool segment {Path}: the record at {Offset} ({Points} points) changed on disk since it was written; skipped and counted as spool_corrupt ({Held} more not logged)")]
    private partial void LogDamagedRecord(string path, long offset, int points, long held);

    [LoggerMessage(EventId = 510, Level = LogLevel.Warning, Message = "Spool of {Destination}: {Path} is skipped ({Reason}); left as it is and not replayed by this run (polymur-gateway spool list shows it; once fixed, a restart replays it)")]
    private partial void LogSkipped(string destination, string path, string reason);

    [LoggerMessage(EventId = 511, Level = LogLevel.Error, Message = "Spool of {Destination}: {Path} is not a spool segment (no PGWSPOOL header: zero-filled or overwritten): its {Bytes} bytes are counted as damaged")]
    private partial void LogNotASegment(string destination, string path, long bytes);

    [LoggerMessage(EventId = 512, Level = LogLevel.Warning, Message = "Spool of {Destination}: delivery progress cannot be saved in {Path} ({Reason}): after a restart that segment replays from its start")]
    private partial void LogAckNotSaved(string destination, string path, string reason);

    [LoggerMessage(EventId = 513, Level = LogLevel.Error, Message = "Spool of {Destination}: {Operation} failed ({Reason}); counted, and the spool carries on ({Held} more not logged)")]
    private partial void LogError(string destination, string operation, string reason, long held);

    [LoggerMessage(EventId = 514, Level = LogLevel.Error, Message = "Spool of {Destination}: segment {Path} disappeared before it was replayed ({Reason}): its records are counted as spool_corrupt")]
    private partial void LogSegmentGone(string destination, string path, string reason);

    [LoggerMessage(EventId = 515, Level = LogLevel.Warning, Message = "Spool of {Destination}: {Path} holds {Bytes} damaged bytes in {Regions} places ({Points} points of whole damaged records, counted as spool_corrupt); skipped at start")]
    private partial void LogDamagedAtStart(string destination, string path, long bytes, int regions, long points);

    [LoggerMessage(EventId = 516, Level = LogLevel.Warning, Message = "Spool of {Destination}: the torn tail of {Path} cannot be cut ({Reason}); it is skipped")]
    private partial void LogCannotCut(string destination, string path, string reason);

    [LoggerMessage(EventId = 517, Level = LogLevel.Error, Message = "Spool of {Destination} cannot use {Directory} ({Reason}): appends are refused (spool_full) until it can")]
    private partial void LogUnusable(string destination, string directory, string reason);

    [LoggerMessage(EventId = 518, Level = LogLevel.Warning, Message = "Spool of {Destination}: the name file in {Directory} cannot be written ({Reason}); the spool works without it, spool list shows the directory's name instead")]
    private partial void LogNameFile(string destination, string directory, string reason);
}
