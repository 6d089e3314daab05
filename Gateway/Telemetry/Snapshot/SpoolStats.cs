namespace Polymur.Gateway.Telemetry;

/// <summary>
/// The spools together (-spool-dir): the disk they take against -spool-max-size, those kept for destinations no
/// longer configured, and what went wrong on their disk: damaged bytes found, failed writes and fsyncs, points
/// lost because they could not be made durable, files kept but not replayed (unreadable, undeletable, not
/// segments), and unexpected errors caught.
/// </summary>
public sealed record SpoolStats(long UsedBytes, long LimitBytes, Spool.OrphanSpool[] Orphans,
    long DamagedBytes = 0, long WriteFailures = 0, long FsyncFailures = 0, long LostPoints = 0, long HeldFiles = 0, long Errors = 0);
