namespace Polymur.Gateway.Keys;

/// <summary>
/// What a key name may be: one safe Graphite path segment, since with -key-prefix the name becomes every
/// metric's first segment. ASCII letters, digits, '_' and '-', starting with a letter or digit, at most
/// <see cref="MaxLength"/>. No dot, so tenant <c>a</c> sending <c>b.x</c> and tenant <c>a.b</c> sending
/// <c>x</c> can never meet; and no name can equal a prefix that starts with '_'.
/// </summary>
public static class KeyNames
{
    public const int MaxLength = 64;

    public const string Rule = "1 to 64 ASCII letters, digits, '_' or '-', starting with a letter or digit";

    public static bool IsValid(ReadOnlySpan<char> name)
    {
        if (name.Length is 0 or > MaxLength || !char.IsAsciiLetterOrDigit(name[0]))
            return false;
        foreach (char c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
                return false;
        }
        return true;
    }
}
