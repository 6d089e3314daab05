
namespace Polymur.Gateway.Primitives;

/// <summary>
/// Valid lines ready to send, each ending in LF, in a pooled buffer. Shared by reference: broadcast puts
/// one batch in every destination's queue, and the last destination to finish with it frees its in-flight
/// slot (<c>onFree</c>). A writer may lease the buffer a while longer, to send its lines again after a
/// connection loss; the buffer goes back to the pool once the last reference and the last lease are gone.
/// </summary>
public sealed class Batch
{
    private readonly byte[] _buffer;
    private readonly BufferPool? _pool;
    private readonly Action? _onFree;
    private int _references = 1;
    private int _holders = 1;

    /// <param name="buffer">The lines; the batch now owns it.</param>
    /// <param name="pool">Where the buffer goes back when the last reference and lease are released; null leaves it to the GC.</param>
    /// <param name="onFree">Runs once, when the last reference is released (its lines are delivered or dropped).</param>
    /// <param name="share">The in-flight share of the tenant that sent the lines; null for lines of no tenant.</param>
    public Batch(byte[] buffer, int length, int points, BufferPool? pool = null, Action? onFree = null, InflightBatches? share = null)
    {
        _buffer = buffer;
        _pool = pool;
        Length = length;
        Points = points;
        _onFree = onFree;
        Share = share;
    }

    /// <summary>
    /// Whose lines these are: the sending tenant's in-flight share, which also names the tenant to the destination
    /// queues, so that each holds a tenant to its fair part (null: the gateway's own metrics, replayed records).
    /// </summary>
    public InflightBatches? Share { get; }

    public int Length { get; }

    /// <summary>The size of the buffer it holds (the memory a lease keeps, whatever the lines' length).</summary>
    public int Capacity => _buffer.Length;

    public int Points { get; }

    public ArraySegment<byte> Data => new(_buffer, 0, Length);

    /// <summary>Adds references before handing the batch to more holders.</summary>
    public void Retain(int count)
    {
        Interlocked.Add(ref _references, count);
        Interlocked.Add(ref _holders, count);
    }

    public void Release()
    {
        int left = Interlocked.Decrement(ref _references);
        if (left == 0)
            _onFree?.Invoke();
        else if (left < 0)
            throw new InvalidOperationException("Batch released more often than retained");
        ReleaseLease();
    }

    /// <summary>Keeps the buffer (not the in-flight slot) past this holder's <see cref="Release"/>; call while holding a reference.</summary>
    public void Lease() => Interlocked.Increment(ref _holders);

    public void ReleaseLease()
    {
        int left = Interlocked.Decrement(ref _holders);
        if (left == 0)
            _pool?.Return(_buffer);
        else if (left < 0)
            throw new InvalidOperationException("Batch buffer released more often than leased");
    }
}
