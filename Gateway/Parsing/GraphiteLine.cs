using System.Buffers;
using System.Text;

namespace Polymur.Gateway.Parsing;

/// <summary>
/// What a Graphite plaintext line must look like to be forwarded: <c>path value timestamp</c>, separated by
/// spaces or tabs. Only what every carbon daemon stores under the name it was sent as passes, because one
/// line carbon-cache chokes on makes it drop the connection, and the lines behind it in its buffer with it:
/// <list type="bullet">
/// <item>the path: dot-separated segments, none empty (carbon stores <c>a..b</c> and <c>.a.b</c> as
/// <c>a/b</c>) and none over 251 bytes (a file name), no '/', printable UTF-8 without any character Python counts as whitespace (carbon splits
/// the line on those), with optional Graphite 1.1 tags (<c>a.b;tag=v</c>);</item>
/// <item>the value: a finite double (1e309 would be stored as inf);</item>
/// <item>the timestamp: a number whose integer part is -1 ("now" to carbon) to 2^32-1, whisper's range
/// (carbon's <c>int(float(ts))</c> of 1e400 raises outside its own error handling).</item>
/// </list>
/// </summary>
internal static class GraphiteLine
{
    /// <summary>The longest line carbon-cache's receiver takes (Twisted's LineOnlyReceiver); a longer one drops the connection.</summary>
    public const int CarbonMaxLineLength = 16384;

    // Bytes that end the fast path through a metric path: controls and space, DEL, non-ASCII, ';' (tags) and '/'.
    private static readonly SearchValues<byte> PathSpecial = SearchValues.Create(BuildPathSpecial());

    private static readonly SearchValues<byte> Blank = SearchValues.Create(" \t"u8);

    // Non-ASCII characters that Python's str.split() splits on (chr(c).isspace()); ASCII ones are controls.
    private static readonly SearchValues<char> UnicodeSpace = SearchValues.Create(
        "\u0085\u00A0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200A\u2028\u2029\u202F\u205F\u3000");

    /// <summary>
    /// <see cref="Check(ReadOnlySpan{byte}, out int, out int, out int)"/> for the line <c>window[..lineLength]</c>,
    /// trying the vectorized <see cref="PlainLine"/> first: the window may run past the line, which lets a short
    /// line be read in two whole vectors.
    /// </summary>
    public static LineVerdict Check(ReadOnlySpan<byte> window, int lineLength, out int start, out int length, out int pathLength)
    {
        if (PlainLine.TryValid(window, lineLength, out pathLength))
        {
            start = 0;
            length = lineLength;
            return LineVerdict.Valid;
        }
        return Check(window[..lineLength], out start, out length, out pathLength);
    }

    /// <summary>
    /// Validates one line (without its LF). On success, <paramref name="start"/> and <paramref name="length"/>
    /// give the line with surrounding whitespace and a trailing CR removed, and <paramref name="pathLength"/>
    /// the length of its metric path.
    /// </summary>
    public static LineVerdict Check(ReadOnlySpan<byte> line, out int start, out int length, out int pathLength) =>
        Diagnose(line, out start, out length, out pathLength) switch
        {
            LineFault.None => LineVerdict.Valid,
            LineFault.Empty => LineVerdict.Empty,
            _ => LineVerdict.Invalid,
        };

    /// <summary>What is wrong with a line, if anything: <see cref="Check(ReadOnlySpan{byte}, out int, out int, out int)"/> with the reason kept.</summary>
    public static LineFault Diagnose(ReadOnlySpan<byte> line, out int start, out int length, out int pathLength)
    {
        start = 0;
        pathLength = 0;
        int end = line.Length;
        while (end > 0 && IsBlankOrCr(line[end - 1]))
            end--;
        while (start < end && IsBlank(line[start]))
            start++;
        length = end - start;
        if (length == 0)
            return LineFault.Empty;

        var text = line.Slice(start, length);
        int sep = text.IndexOfAny(Blank);
        if (sep <= 0)
            return LineFault.Fields;
        var path = text[..sep];
        if (path.ContainsAny(PathSpecial) ? !IsValidPathSlow(path) : !HasWholeSegments(path))
            return LineFault.Path;
        pathLength = sep;

        var rest = text[sep..].TrimStart(" \t"u8);
        int valueEnd = rest.IndexOfAny(Blank);
        if (valueEnd < 0)
            return LineFault.Fields;
        if (!IsFiniteValue(rest[..valueEnd]))
            return LineFault.Value;
        var timestamp = rest[valueEnd..].TrimStart(" \t"u8);
        if (timestamp.ContainsAny(Blank))
            return LineFault.Fields;
        return IsTimestamp(timestamp) ? LineFault.None : LineFault.Timestamp;
    }

    /// <summary>A decimal number as Python's float() reads it, minus nan/inf and '_': [+-]digits[.digits][e[+-]digits].</summary>
    public static bool IsNumber(ReadOnlySpan<byte> s) => Number.Scan(s, out _);

    /// <summary>A number whose double is finite: 1e308 is, 1e309 and a 400-digit integer are not.</summary>
    public static bool IsFiniteValue(ReadOnlySpan<byte> s)
    {
        if (!Number.Scan(s, out int magnitude))
            return false;
        // Below 10^308 it is finite, at 10^309 and above it is not; only [1e308, 1e309) needs the exact parse.
        return magnitude < 308 || (magnitude == 308 && double.IsFinite(ParseDouble(s)));
    }

    /// <summary>A number whose integer part (as carbon truncates it) is -1 or within whisper's unsigned 32 bits.</summary>
    public static bool IsTimestamp(ReadOnlySpan<byte> s)
    {
        // The usual case, an epoch in plain digits: no parse needed.
        if (s.Length is > 0 and <= 10 && !s.ContainsAnyExceptInRange((byte)'0', (byte)'9'))
            return s.Length < 10 || s.SequenceCompareTo("4294967295"u8) <= 0;
        if (!Number.Scan(s, out _))
            return false;
        double value = Math.Truncate(ParseDouble(s));
        return value is >= -1 and <= uint.MaxValue;
    }

    private static double ParseDouble(ReadOnlySpan<byte> s) =>
        double.Parse(s, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// The longest path segment whisper can store: a directory name is at most 255 bytes (NAME_MAX), and the
    /// last segment also carries ".wsp". Carbon cannot create a longer one, and loses its points.
    /// </summary>
    public const int MaxSegmentLength = 251;

    // No empty segment (not first, not last, never two dots in a row), and none too long for a file name.
    private static bool HasWholeSegments(ReadOnlySpan<byte> name) =>
        name.Length > 0 && name[0] != '.' && name[^1] != '.' && name.IndexOf(".."u8) < 0
        && (name.Length <= MaxSegmentLength || SegmentsFit(name));

    private static bool SegmentsFit(ReadOnlySpan<byte> name)
    {
        foreach (var range in name.Split((byte)'.'))
        {
            if (range.End.Value - range.Start.Value > MaxSegmentLength)
                return false;
        }
        return true;
    }

    // Rare path: non-ASCII, '/', controls or tags.
    private static bool IsValidPathSlow(ReadOnlySpan<byte> path)
    {
        foreach (byte b in path)
        {
            if (b <= 0x20 || b == 0x7F || b == '/')
                return false;
        }
        if (path.IndexOfAnyInRange((byte)0x80, (byte)0xFF) >= 0 && !IsPrintableUtf8(path))
            return false;
        int semi = path.IndexOf((byte)';');
        if (semi < 0)
            return HasWholeSegments(path);
        return HasWholeSegments(path[..semi]) && AreValidTags(path[(semi + 1)..]);
    }

    private static bool IsPrintableUtf8(ReadOnlySpan<byte> path)
    {
        if (!System.Text.Unicode.Utf8.IsValid(path))
            return false;
        while (!path.IsEmpty)
        {
            Rune.DecodeFromUtf8(path, out var rune, out int used);
            if (rune.IsBmp && UnicodeSpace.Contains((char)rune.Value) || Rune.IsControl(rune))
                return false;
            path = path[used..];
        }
        return true;
    }

    // Graphite 1.1: name;tag=value;tag2=value2. Tag names are non-empty without ;!^= ; values are non-empty,
    // without ';', and do not start with '~'.
    private static bool AreValidTags(ReadOnlySpan<byte> tags)
    {
        foreach (var range in tags.Split((byte)';'))
        {
            var tag = tags[range];
            int eq = tag.IndexOf((byte)'=');
            if (eq <= 0 || eq == tag.Length - 1)
                return false;
            if (tag[..eq].IndexOfAny("!^"u8) >= 0 || tag[eq + 1] == '~')
                return false;
        }
        return true;
    }

    private static bool IsBlank(byte b) => b == ' ' || b == '\t';

    private static bool IsBlankOrCr(byte b) => b == ' ' || b == '\t' || b == '\r';

    private static byte[] BuildPathSpecial()
    {
        var bytes = new List<byte>();
        for (int b = 0; b <= 0x20; b++)
            bytes.Add((byte)b);
        for (int b = 0x7F; b <= 0xFF; b++)
            bytes.Add((byte)b);
        bytes.Add((byte)';');
        bytes.Add((byte)'/');
        return [.. bytes];
    }
}

internal enum LineVerdict
{
    Valid,

    /// <summary>Nothing but whitespace: skipped, as carbon skips it, and not counted as invalid.</summary>
    Empty,
    Invalid,
}

/// <summary>Why a line is not forwarded, for the samples support reads (see <see cref="RejectedLine"/>).</summary>
internal enum LineFault : byte
{
    None,
    Empty,

    /// <summary>Not three blank-separated fields.</summary>
    Fields,
    Path,
    Value,
    Timestamp,

    /// <summary>Over -max-line-length.</summary>
    TooLong,
}
