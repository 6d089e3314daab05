using Polymur.Gateway.Spool;
using Polymur.Gateway.Primitives;

namespace Polymur.Gateway.Outputs;

/// <summary>
/// A batch being written, bytes <see cref="Offset"/> to <see cref="End"/>, with <see cref="PointsLeft"/> lines
/// not yet acknowledged; <see cref="Replayed"/> is the spool record it came from, if any. <see cref="Sent"/>
/// marks lines a connection already took: the batch's reference (its in-flight slot) and its queue room were
/// given back then, and only a lease on its buffer is held until the peer acknowledges them. <see cref="Again"/>
/// marks lines the peer acknowledged before, sent again after it closed the connection: counted once, when first
/// acknowledged, and never spooled.
/// </summary>
internal readonly record struct PendingWrite(Batch Batch, int Offset, int End, int PointsLeft, SpooledRecord? Replayed = null, bool Sent = false, bool Again = false)
{
    public PendingWrite(Batch batch, SpooledRecord? replayed = null)
        : this(batch, 0, batch.Length, batch.Points, replayed)
    {
    }

    public ArraySegment<byte> Data => Batch.Data[Offset..End];

    public PendingWrite Advance(int bytes, int lines) => this with { Offset = Offset + bytes, PointsLeft = PointsLeft - lines };

    /// <summary>Gives back what this holds of the batch: its lease once sent, else its reference.</summary>
    public void Release()
    {
        if (Sent)
            Batch.ReleaseLease();
        else
            Batch.Release();
    }
}
