namespace Polymur.Gateway.Tenants;

/// <summary>
/// A tenant's recent valid points per gzip'd byte, so that a batch's points can be guessed from its
/// Content-Length before it is read. The guess takes the lowest ratio of the last <see cref="Kept"/> batches, so
/// it errs low: a batch refused on it would have been refused on its real points too, and a tenant whose
/// batches compress unevenly (3x apart between random and repetitive values) is never refused for the difference.
/// A flood of one batch, sent again and again, is guessed exactly.
/// </summary>
internal sealed class PointsPerByte
{
    /// <summary>How many batches the lowest ratio is taken over: 64 bytes per tenant.</summary>
    public const int Kept = 8;

    /// <summary>
    /// Smaller batches are not learnt from, nor guessed: gzip's 18 bytes of framing make their ratio low (so a big
    /// batch's ratio would guess them high), and inflating them costs nearly nothing.
    /// </summary>
    public const int MinBytes = 1024;

    private readonly Lock _gate = new();
    private readonly double[] _recent = new double[Kept];
    private int _next, _count;

    /// <summary>After a batch was inflated and parsed: its gzip'd size and its valid points.</summary>
    public void Observe(long compressedBytes, int points)
    {
        // A batch with no valid point says nothing about the points of the next, and must not switch the guess off.
        if (compressedBytes < MinBytes || points <= 0)
            return;
        lock (_gate)
        {
            _recent[_next] = points / (double)compressedBytes;
            _next = (_next + 1) % Kept;
            _count = Math.Min(Kept, _count + 1);
        }
    }

    /// <summary>
    /// The points a body of <paramref name="compressedBytes"/> likely holds at least, rounded up; 0 when that is not
    /// known: no size given (a chunked body), under <see cref="MinBytes"/>, or no batch learnt from yet.
    /// </summary>
    public int Estimate(long? compressedBytes)
    {
        if (compressedBytes is not { } size || size < MinBytes)
            return 0;
        double lowest = double.MaxValue;
        lock (_gate)
        {
            if (_count == 0)
                return 0;
            for (int i = 0; i < _count; i++)
                lowest = Math.Min(lowest, _recent[i]);
        }
        return (int)Math.Min(int.MaxValue, Math.Ceiling(lowest * size));
    }
}
