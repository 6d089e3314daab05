using System.Security.Cryptography;
using System.Text;

namespace Polymur.Gateway.Configuration;

/// <summary>
/// A bearer token read from a file. Only its SHA-256 digest is kept, and a presented token is compared by
/// digest in constant time, so neither its content nor its length leaks through timing. It never prints.
/// </summary>
public sealed class SecretToken
{
    private readonly byte[] _digest;

    private SecretToken(byte[] digest) => _digest = digest;

    /// <summary>Reads the token (surrounding whitespace trimmed, as a file written by echo ends in a newline).</summary>
    public static SecretToken Load(string path)
    {
        string token = Primitives.BoundedFile.ReadText(path, Primitives.BoundedFile.MaxTokenBytes).Trim();
        if (token.Length < 16)
            throw new FormatException("the token must be at least 16 characters (for example: openssl rand -hex 32)");
        return FromText(token);
    }

    public static SecretToken FromText(string token) => new(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    public bool Matches(ReadOnlySpan<char> presented)
    {
        Span<byte> utf8 = presented.Length <= 256 ? stackalloc byte[Encoding.UTF8.GetMaxByteCount(presented.Length)] : new byte[Encoding.UTF8.GetMaxByteCount(presented.Length)];
        int length = Encoding.UTF8.GetBytes(presented, utf8);
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(utf8[..length], digest);
        return CryptographicOperations.FixedTimeEquals(digest, _digest);
    }

    public override string ToString() => "(secret)";
}
