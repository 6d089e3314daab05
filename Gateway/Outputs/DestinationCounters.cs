namespace Polymur.Gateway.Outputs;

/// <summary>Why points meant for a destination did not reach it.</summary>
public enum DropReason
{
    /// <summary>The destination's queue was full (it is down or slower than the input).</summary>
    QueueFull,

    /// <summary>The drain timeout passed at shutdown with the points still queued.</summary>
    ShutdownTimeout,

    /// <summary>The destination was removed with points still queued.</summary>
    DestinationRemoved,

    /// <summary>The queue was full and so was the spool (-spool-max-size), or the disk refused the write.</summary>
    SpoolFull,

    /// <summary>A spooled record could not be read back (damaged on disk): never replayed.</summary>
    SpoolCorrupt,
}

/// <summary>
/// One destination's point accounting: routed = delivered + dropped (by reason) + queued + spooled pending,
/// where queued covers points waiting in the queue, being written, and written but not yet acknowledged by the
/// destination's TCP, and spooled pending the points in the spool not yet delivered (delivered ones count as
/// delivered; unreadable ones as spool_corrupt). Delivered counts a line once its bytes were acknowledged.
/// </summary>
public sealed class DestinationCounters
{
    private readonly long[] _dropped = new long[DropReasonCount];
    private long _routed, _delivered, _spooled, _unspooled, _resent, _tlsFailures, _written, _writtenBytes, _writerErrors, _timeouts, _refused;

    private const int DropReasonCount = (int)DropReason.SpoolCorrupt + 1;

    public long Routed => Volatile.Read(ref _routed);

    public long Delivered => Volatile.Read(ref _delivered);

    public long Queued => Routed - Delivered - DroppedTotal - SpoolPending;

    /// <summary>Points written to the spool, in all (also those found there at start).</summary>
    public long Spooled => Volatile.Read(ref _spooled);

    /// <summary>Points in the spool that have not left it (delivered, or dropped as unreadable).</summary>
    public long SpoolPending => Spooled - Volatile.Read(ref _unspooled);

    /// <summary>Lines sent again after a connection loss because the destination had not acknowledged them (not in the identity).</summary>
    public long Resent => Volatile.Read(ref _resent);

    public long DroppedTotal
    {
        get
        {
            long total = 0;
            for (int i = 0; i < _dropped.Length; i++)
                total += Volatile.Read(ref _dropped[i]);
            return total;
        }
    }

    public long Dropped(DropReason reason) => Volatile.Read(ref _dropped[(int)reason]);

    /// <summary>Lines handed to the kernel (resent ones again), acknowledged or not (not in the identity).</summary>
    public long Written => Volatile.Read(ref _written);

    /// <summary>Bytes handed to the kernel, as <see cref="Written"/>.</summary>
    public long WrittenBytes => Volatile.Read(ref _writtenBytes);

    /// <summary>Unexpected errors the writer's loop caught and carried on after.</summary>
    public long WriterErrors => Volatile.Read(ref _writerErrors);

    /// <summary>Times the destination was declared down for acknowledging nothing for -destination-timeout.</summary>
    public long Timeouts => Volatile.Read(ref _timeouts);

    /// <summary>
    /// Points of batches answered 503 because this destination's spool could not take its part (-spool-max-size
    /// reached, or the disk refused): never routed, so not in the identity; the sender still has them.
    /// </summary>
    public long Refused => Volatile.Read(ref _refused);

    internal void AddRefused(long points) => Interlocked.Add(ref _refused, points);

    /// <summary>TLS handshakes or verifications that failed (tls:// destinations).</summary>
    public long TlsFailures => Volatile.Read(ref _tlsFailures);

    internal void AddTlsFailure() => Interlocked.Increment(ref _tlsFailures);

    internal void AddWritten(long lines, long bytes)
    {
        Interlocked.Add(ref _written, lines);
        Interlocked.Add(ref _writtenBytes, bytes);
    }

    internal void AddWriterError() => Interlocked.Increment(ref _writerErrors);

    internal void AddTimeout() => Interlocked.Increment(ref _timeouts);

    internal void AddRouted(long points) => Interlocked.Add(ref _routed, points);

    internal void AddDelivered(long points) => Interlocked.Add(ref _delivered, points);

    internal void AddDropped(DropReason reason, long points) => Interlocked.Add(ref _dropped[(int)reason], points);

    internal void AddResent(long points) => Interlocked.Add(ref _resent, points);

    internal void AddSpooled(long points) => Interlocked.Add(ref _spooled, points);

    /// <summary>Points that left the spool; delivered or dropped is counted separately.</summary>
    internal void AddUnspooled(long points) => Interlocked.Add(ref _unspooled, points);
}
