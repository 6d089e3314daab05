using System.Buffers;
using System.Text.Unicode;

namespace Polymur.Gateway.Parsing;

/// <summary>
/// What a Graphite plaintext line must look like to be forwarded: <c>path value timestamp</c>, separated
/// by spaces or tabs (carbon splits on any whitespace), the value and timestamp numbers, the path printable
/// UTF-8 with optional Graphite 1.1 tags (<c>a.b;tag=v</c>). NaN and Inf are refused: carbon drops NaN.
/// </summary>
internal static class GraphiteLine
{
    // Bytes that end the fast path through a metric path: controls and space, DEL, non-ASCII, and ';' (tags).
    private static readonly SearchValues<byte> PathSpecial = SearchValues.Create(BuildPathSpecial());

    private static readonly SearchValues<byte> Blank = SearchValues.Create(" \t"u8);

    /// <summary>
    /// Validates one line (without its LF). On success, <paramref name="start"/> and <paramref name="length"/>
    /// give the line with surrounding whitespace and a trailing CR removed, and <paramref name="pathLength"/>
    /// the length of its metric path.
    /// </summary>
    public static LineVerdict Check(ReadOnlySpan<byte> line, out int start, out int length, out int pathLength)
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
            return LineVerdict.Empty;

        var text = line.Slice(start, length);
        int sep = text.IndexOfAny(Blank);
        if (sep <= 0)
            return LineVerdict.Invalid;
        var path = text[..sep];
        if (path.ContainsAny(PathSpecial) && !IsValidPathSlow(path))
            return LineVerdict.Invalid;
        pathLength = sep;

        var rest = text[sep..].TrimStart(" \t"u8);
        int valueEnd = rest.IndexOfAny(Blank);
        if (valueEnd < 0 || !IsNumber(rest[..valueEnd]))
            return LineVerdict.Invalid;
        var timestamp = rest[valueEnd..].TrimStart(" \t"u8);
        if (timestamp.ContainsAny(Blank) || !IsNumber(timestamp))
            return LineVerdict.Invalid;
        return LineVerdict.Valid;
    }

    /// <summary>A decimal number as Python's float() reads it, minus nan/inf: [+-]digits[.digits][e[+-]digits].</summary>
    public static bool IsNumber(ReadOnlySpan<byte> s)
    {
        int i = 0, n = s.Length;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        int digits = 0;
        while (i < n && IsDigit(s[i]))
        {
            i++;
            digits++;
        }
        if (i < n && s[i] == '.')
        {
            i++;
            while (i < n && IsDigit(s[i]))
            {
                i++;
                digits++;
            }
        }
        if (digits == 0)
            return false;
        if (i < n && (s[i] | 0x20) == 'e')
        {
            i++;
            if (i < n && (s[i] == '+' || s[i] == '-'))
                i++;
            int expDigits = 0;
            while (i < n && IsDigit(s[i]))
            {
                i++;
                expDigits++;
            }
            if (expDigits == 0)
                return false;
        }
        return i == n;
    }

    // Rare path: non-ASCII or tags. Controls and DEL are never allowed; non-ASCII must be valid UTF-8.
    private static bool IsValidPathSlow(ReadOnlySpan<byte> path)
    {
        foreach (byte b in path)
        {
            if (b <= 0x20 || b == 0x7F)
                return false;
        }
        if (!Utf8.IsValid(path))
            return false;
        int semi = path.IndexOf((byte)';');
        return semi < 0 || AreValidTags(path[..semi], path[(semi + 1)..]);
    }

    // Graphite 1.1: name;tag=value;tag2=value2. Tag names are non-empty without ;!^= ; values are non-empty,
    // without ';', and do not start with '~'.
    private static bool AreValidTags(ReadOnlySpan<byte> name, ReadOnlySpan<byte> tags)
    {
        if (name.IsEmpty)
            return false;
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

    private static bool IsDigit(byte b) => (uint)(b - '0') <= 9;

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
