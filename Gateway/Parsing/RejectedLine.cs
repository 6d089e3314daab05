using System.Text;

namespace Polymur.Gateway.Parsing;

/// <summary>
/// The first line of a batch that was not forwarded, copied (cut short) the moment it was seen: compaction
/// writes over it later. Lives on the stack of the request that parses; only the rejected line path touches it.
/// </summary>
internal ref struct RejectedLine(Span<byte> room)
{
    /// <summary>How much of a rejected line is kept.</summary>
    public const int MaxBytes = 120;

    private readonly Span<byte> _room = room;
    private int _kept;

    public LineFault Fault { get; private set; }

    /// <summary>The line's full length, before it was cut short.</summary>
    public int Length { get; private set; }

    public readonly bool Taken => Fault != LineFault.None;

    /// <summary>Keeps <paramref name="line"/> unless a line was kept already.</summary>
    public void Take(ReadOnlySpan<byte> line, LineFault fault)
    {
        if (Taken || _room.IsEmpty)
            return;
        Fault = fault;
        Length = line.Length;
        _kept = Math.Min(line.Length, _room.Length);
        line[.._kept].CopyTo(_room);
    }

    /// <summary>The kept bytes as printable ASCII: anything else shows as '?', and a cut line ends in "...".</summary>
    public readonly string Text()
    {
        var sb = new StringBuilder(_kept + 3);
        foreach (byte b in _room[.._kept])
            sb.Append(b is >= 0x20 and < 0x7F ? (char)b : '?');
        if (Length > _kept)
            sb.Append("...");
        return sb.ToString();
    }

    public static string Describe(LineFault fault, int maxLineLength) => fault switch
    {
        LineFault.Fields => "not three fields (path value timestamp)",
        LineFault.Path => "bad metric path (empty or over-long segment, '/', whitespace or control characters, or bad tags)",
        LineFault.Value => "value is not a finite number",
        LineFault.Timestamp => "timestamp is not a number from -1 to 4294967295",
        LineFault.TooLong => $"over {maxLineLength} bytes (-max-line-length)",
        _ => "valid",
    };
}
