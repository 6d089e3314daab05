namespace Polymur.Gateway.Keys;

/// <summary>How a key may appear in logs: a short prefix of a long key, and nothing of a short one.</summary>
public static class KeyRedaction
{
    public static string Redact(ReadOnlySpan<char> key) => key.Length switch
    {
        0 => "(none)",
        < 16 => $"({key.Length} chars)",
        _ => $"{key[..4]}…({key.Length} chars)",
    };
}
