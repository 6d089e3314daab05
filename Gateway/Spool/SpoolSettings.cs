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
