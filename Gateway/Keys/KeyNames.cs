namespace Polymur.Gateway.Keys;

/// <summary>What a key name may be. The name becomes a metric prefix with -key-prefix, so it must be safe there.</summary>
public static class KeyNames
{
    public const int MaxLength = 128;

    /// <summary>Names the key tool creates: a letter or digit, then letters, digits, '_', '-' or '.'.</summary>
    public static bool IsValidNew(string name) =>
        name.Length is > 0 and <= MaxLength
        && char.IsAsciiLetterOrDigit(name[0])
        && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.');

    /// <summary>
    /// Names the gateway accepts from Consul (which others may have written): printable ASCII without
    /// space or ';' (Graphite's tag separator), so that a prefixed metric stays one valid path.
    /// </summary>
    public static bool IsUsable(string name) =>
        name.Length is > 0 and <= MaxLength && name.All(c => c is > ' ' and < (char)0x7F and not ';');
}
