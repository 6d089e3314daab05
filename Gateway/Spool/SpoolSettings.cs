using Polymur.Gateway.Configuration;
using Polymur.Gateway.Primitives;

namespace Polymur.Gateway.Spool;

/// <summary>How the spools write: -spool-fsync, the segment size, and the largest record (-max-batch-size).</summary>
internal sealed record SpoolSettings
{
    public TimeSpan FsyncInterval { get; init; } = TimeSpan.FromSeconds(1);

    public long SegmentBytes { get; init; } = 64L << 20;

    public int MaxRecordBytes { get; init; } = 64 << 20;

    public TimeSpan RetryAfterFailure { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Frames written but not yet fsynced that all spools sharing these settings keep in memory, to write them again
    /// if the fsync fails; an append past it fsyncs at once. So at most this plus one record per spool is kept.
    /// </summary>
    public const long UnsyncedLimit = 32L << 20;

    /// <summary>What the kept frames take now, all spools together (shared by every spool opened with these settings).</summary>
    public SpoolBudget Unsynced { get; init; } = new(UnsyncedLimit);

    /// <summary>A test seam: an fsync of the path fails with the exception returned (EIO cannot be produced on a test machine).</summary>
    public Func<string, Exception?>? FsyncFault { get; init; }

    /// <summary>Where replayed lines are rented from (null: plain arrays), within <see cref="BufferLimit"/> bytes in use.</summary>
    public BufferPool? Buffers { get; init; }

    /// <summary>-max-batch-memory: what all batches together, replayed ones included, may hold.</summary>
    public long BufferLimit { get; init; } = long.MaxValue;

    public static SpoolSettings From(GatewayOptions options, BufferPool buffers) => new()
    {
        FsyncInterval = options.SpoolFsync,
        MaxRecordBytes = (int)options.MaxBatchSize + 1,
        Buffers = buffers,
        BufferLimit = options.MaxBatchMemory,
    };
}
