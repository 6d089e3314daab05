namespace Polymur.Gateway.Tenants;

/// <summary>
/// One tenant's figures, as the gateway-wide ones are kept: points only for batches answered 200, bytes for
/// every batch that was read and inflated whatever its answer, refusals by status. Updated once per batch.
/// </summary>
public sealed class TenantCounters
{
    /// <summary>The statuses a tenant's batch can be refused with (a 401 has no tenant).</summary>
    public static readonly int[] RefusalStatuses = [400, 408, 413, 429, 503];

    private long _batches, _accepted, _invalid, _tooLong, _compressed, _decompressed, _lastBatchMs;
    private readonly long[] _refused = new long[RefusalStatuses.Length];

    public long BatchesAccepted => Volatile.Read(ref _batches);

    /// <summary>Valid points of accepted batches: what was routed.</summary>
    public long PointsAccepted => Volatile.Read(ref _accepted);

    public long PointsInvalid => Volatile.Read(ref _invalid);

    public long PointsTooLong => Volatile.Read(ref _tooLong);

    public long BytesCompressed => Volatile.Read(ref _compressed);

    public long BytesDecompressed => Volatile.Read(ref _decompressed);

    /// <summary>When the last batch was accepted, in Unix milliseconds; 0 before the first.</summary>
    public long LastBatchUnixMs => Volatile.Read(ref _lastBatchMs);

    public long Refused(int status)
    {
        int i = Array.IndexOf(RefusalStatuses, status);
        return i < 0 ? 0 : Volatile.Read(ref _refused[i]);
    }

    internal void AddBytes(int compressed, int decompressed)
    {
        Interlocked.Add(ref _compressed, compressed);
        Interlocked.Add(ref _decompressed, decompressed);
    }

    internal void AddAccepted(int valid, int invalid, int tooLong, long nowMs)
    {
        Interlocked.Increment(ref _batches);
        Interlocked.Add(ref _accepted, valid);
        if (invalid > 0)
            Interlocked.Add(ref _invalid, invalid);
        if (tooLong > 0)
            Interlocked.Add(ref _tooLong, tooLong);
        Volatile.Write(ref _lastBatchMs, nowMs);
    }

    internal void AddRefused(int status)
    {
        int i = Array.IndexOf(RefusalStatuses, status);
        if (i >= 0)
            Interlocked.Increment(ref _refused[i]);
    }
}
