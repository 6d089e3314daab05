namespace Polymur.Gateway.Telemetry;

public sealed record QueueStats(long CurrentSize, long Limit);
