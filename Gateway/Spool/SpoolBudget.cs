namespace Polymur.Gateway.Spool;

/// <summary>-spool-max-size: the bytes every destination's spool may take on disk together. Lock-free.</summary>
internal sealed class SpoolBudget(long maxBytes)
{
    private long _used;

    public long MaxBytes => maxBytes;

    public long UsedBytes => Interlocked.Read(ref _used);

    /// <summary>Takes <paramref name="bytes"/> if that stays within the limit.</summary>
    public bool TryTake(long bytes)
    {
        if (Interlocked.Add(ref _used, bytes) <= maxBytes)
            return true;
        Interlocked.Add(ref _used, -bytes);
        return false;
    }

    /// <summary>Counts bytes that are on disk already (found at start), whatever the limit.</summary>
    public void Take(long bytes) => Interlocked.Add(ref _used, bytes);

    public void Release(long bytes) => Interlocked.Add(ref _used, -bytes);
}
