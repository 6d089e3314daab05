using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Polymur.Gateway.Parsing;

/// <summary>
/// The fast path of <see cref="GraphiteLine.Check"/>: one pass of two 32-byte vector compares classifies every
/// byte of a line of at most 64 bytes (blank, dot, digit, or a byte a plain path may not hold), and bit
/// arithmetic on those masks finds the fields and checks them. It only ever says yes for the plain form,
/// <c>path value timestamp</c> with single blanks, a path of printable ASCII without ';' or '/', and a
/// timestamp of plain digits; for every other line it says "ask the full check", which decides.
/// </summary>
internal static class PlainLine
{
    public const int MaxLength = 64;

    /// <summary>
    /// True when <c>window[..lineLength]</c> is a valid line in the plain form; <paramref name="pathLength"/>
    /// is then its path's length. The window must hold at least <see cref="MaxLength"/> bytes (the vector loads
    /// read that far; the bytes past the line are ignored).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryValid(ReadOnlySpan<byte> window, int lineLength, out int pathLength)
    {
        pathLength = 0;
        if (!Vector256.IsHardwareAccelerated || lineLength > MaxLength || window.Length < MaxLength || lineLength == 0)
            return false;
        ref byte first = ref MemoryMarshal.GetReference(window);
        var lo = Vector256.LoadUnsafe(ref first);
        var hi = Vector256.LoadUnsafe(ref first, 32);
        ulong inLine = lineLength == 64 ? ulong.MaxValue : (1UL << lineLength) - 1;
        ulong blank = (Mask(Blank(lo), Blank(hi))) & inLine;

        int sep = BitOperations.TrailingZeroCount(blank);
        if (sep == 0 || sep >= lineLength)
            return false; // a leading blank, or no blank at all
        ulong path = (1UL << sep) - 1;
        if ((Mask(NotPlainPath(lo), NotPlainPath(hi)) & path) != 0)
            return false;
        ulong dots = Mask(Vector256.Equals(lo, Vector256.Create((byte)'.')), Vector256.Equals(hi, Vector256.Create((byte)'.'))) & path;
        if ((dots & 1) != 0 || (dots >> (sep - 1)) != 0 || (dots & (dots >> 1)) != 0)
            return false; // an empty segment: first, last, or between two dots

        int valueStart = sep + 1;
        if (valueStart >= lineLength)
            return false;
        ulong after = blank >> valueStart;
        if ((after & 1) != 0 || after == 0)
            return false; // two blanks in a row, or no timestamp
        int valueEnd = valueStart + BitOperations.TrailingZeroCount(after);
        int stampStart = valueEnd + 1;
        if (stampStart >= lineLength || (blank >> stampStart) != 0 || lineLength - stampStart > 10)
            return false; // more blanks, an empty timestamp, or one too long for plain digits
        ulong digits = Mask(Digit(lo), Digit(hi));
        ulong stamp = inLine & ~((1UL << stampStart) - 1);
        if ((digits & stamp) != stamp)
            return false;
        if (lineLength - stampStart == 10 && window.Slice(stampStart, 10).SequenceCompareTo("4294967295"u8) > 0)
            return false;
        if (!GraphiteLine.IsFiniteValue(window[valueStart..valueEnd]))
            return false;
        pathLength = sep;
        return true;
    }

    private static ulong Mask(Vector256<byte> lo, Vector256<byte> hi) =>
        lo.ExtractMostSignificantBits() | (ulong)hi.ExtractMostSignificantBits() << 32;

    private static Vector256<byte> Blank(Vector256<byte> v) =>
        Vector256.Equals(v, Vector256.Create((byte)' ')) | Vector256.Equals(v, Vector256.Create((byte)'\t'));

    // Outside 0x21-0x7E (controls, space, DEL, non-ASCII), or ';' (tags) or '/': left to the full check.
    private static Vector256<byte> NotPlainPath(Vector256<byte> v) =>
        Vector256.GreaterThan(v - Vector256.Create((byte)0x21), Vector256.Create((byte)(0x7E - 0x21)))
        | Vector256.Equals(v, Vector256.Create((byte)';'))
        | Vector256.Equals(v, Vector256.Create((byte)'/'));

    private static Vector256<byte> Digit(Vector256<byte> v) =>
        Vector256.LessThanOrEqual(v - Vector256.Create((byte)'0'), Vector256.Create((byte)9));
}
