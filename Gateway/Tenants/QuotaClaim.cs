namespace Polymur.Gateway.Tenants;

/// <summary>
/// One batch's hold on its tenant's bucket, from before its body is read until its points are counted. The
/// points are guessed from the Content-Length and the tenant's recent points per byte, and reserved: a bucket that
/// cannot cover them refuses the batch unread, so a flood past its quota costs no inflating, and fifty batches
/// arriving at once cannot all pass on the same tokens. Until the ratio is known (a tenant's first batch, or a
/// chunked body), the batch is let in while the bucket holds a point, and its points are taken when counted.
/// </summary>
internal sealed class QuotaClaim
{
    private readonly Tenant _tenant;
    private int _reserved;

    private QuotaClaim(Tenant tenant, int reserved)
    {
        _tenant = tenant;
        _reserved = reserved;
    }

    /// <summary>The points reserved and not yet settled or given back.</summary>
    public int Reserved => _reserved;

    /// <summary>Before the body is read: a claim, or false with the wait when the bucket cannot cover the batch.</summary>
    public static bool TryOpen(Tenant tenant, long? contentLength, out QuotaClaim claim, out TimeSpan retryAfter)
    {
        claim = null!;
        retryAfter = TimeSpan.Zero;
        var bucket = tenant.Bucket;
        int estimate = bucket.Rate <= 0 ? 0 : tenant.Density.Estimate(contentLength);
        if (estimate > 0 ? !bucket.TryTake(estimate, out retryAfter) : bucket.IsSpent(out retryAfter))
            return false;
        claim = new QuotaClaim(tenant, estimate);
        return true;
    }

    /// <summary>
    /// Once the batch is parsed: charges its valid points against the reservation (see
    /// <see cref="TokenBucket.TryTake(int, int, out TimeSpan)"/>), and learns its points per byte for the next guess.
    /// </summary>
    public bool TryCharge(int points, long compressedLength, out TimeSpan retryAfter)
    {
        _tenant.Density.Observe(compressedLength, points);
        int reserved = _reserved;
        _reserved = 0;
        return _tenant.Bucket.TryTake(points, reserved, out retryAfter);
    }

    /// <summary>For a batch that was never charged: gives its reservation back. Does nothing after a charge.</summary>
    public void Release()
    {
        int reserved = _reserved;
        _reserved = 0;
        _tenant.Bucket.Release(reserved);
    }
}
