namespace Polymur.Gateway.Telemetry;

/// <summary>
/// The batch buffer pool: the bytes of batches held now (what -max-batch-memory limits), what it keeps for
/// reuse and its cap, and how many buffers it ever had to allocate.
/// </summary>
public sealed record BufferStats(long InUseBytes, long InUseLimitBytes, long RetainedBytes, long RetainedLimitBytes, long Allocations);
