using System.Buffers;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace Polymur.Gateway.Keys;

/// <summary>
/// SHA-256 of an API key. Keys are looked up by digest, so a hash table's bucket choice and its final
/// equality check depend only on the digest: the time a lookup takes tells an attacker nothing about the
/// key's bytes, which is the leak a plain string comparison has.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public readonly struct KeyDigest : IEquatable<KeyDigest>
{
    private readonly ulong _a, _b, _c, _d;

    private KeyDigest(ReadOnlySpan<byte> hash)
    {
        var words = MemoryMarshal.Cast<byte, ulong>(hash);
        (_a, _b, _c, _d) = (words[0], words[1], words[2], words[3]);
    }

    /// <summary>The digest of a key given as its UTF-8 bytes (as Consul stores it).</summary>
    public static KeyDigest Of(ReadOnlySpan<byte> utf8Key)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(utf8Key, hash);
        return new KeyDigest(hash);
    }

    public static KeyDigest Of(ReadOnlySpan<char> key)
    {
        int max = Encoding.UTF8.GetMaxByteCount(key.Length);
        byte[]? rented = max > 512 ? ArrayPool<byte>.Shared.Rent(max) : null;
        Span<byte> utf8 = rented ?? stackalloc byte[512];
        int n = Encoding.UTF8.GetBytes(key, utf8);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(utf8[..n], hash);
        if (rented is not null)
            ArrayPool<byte>.Shared.Return(rented);
        return new KeyDigest(hash);
    }

    // Constant time: no early exit on the first differing word.
    public bool Equals(KeyDigest other) => ((_a ^ other._a) | (_b ^ other._b) | (_c ^ other._c) | (_d ^ other._d)) == 0;

    public override bool Equals(object? obj) => obj is KeyDigest d && Equals(d);

    public override int GetHashCode() => (int)_a;
}
