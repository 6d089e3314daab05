namespace Polymur.Gateway.Telemetry;

/// <summary>The spools together (-spool-dir): the disk they take against -spool-max-size, and those kept for destinations no longer configured.</summary>
public sealed record SpoolStats(long UsedBytes, long LimitBytes, Spool.OrphanSpool[] Orphans);
