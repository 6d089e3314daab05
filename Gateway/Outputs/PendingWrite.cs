using Polymur.Gateway.Spool;
using Polymur.Gateway.Primitives;

namespace Polymur.Gateway.Outputs;

/// <summary>
/// A batch being written, bytes <see cref="Offset"/> to <see cref="End"/>, with <see cref="PointsLeft"/> lines
/// not yet taken; <see cref="Replayed"/> is the spool record it came from, if any; <see cref="Resend"/> marks
/// lines sent before and sent again after a connection loss.
/// </summary>
internal readonly record struct PendingWrite(Batch Batch, int Offset, int End, int PointsLeft, SpooledRecord? Replayed = null, bool Resend = false)
{
    public PendingWrite(Batch batch, SpooledRecord? replayed = null)
        : this(batch, 0, batch.Length, batch.Points, replayed)
    {
    }

    public ArraySegment<byte> Data => Batch.Data[Offset..End];

    public PendingWrite Advance(int bytes, int lines) => this with { Offset = Offset + bytes, PointsLeft = PointsLeft - lines };
}
