namespace Polymur.Gateway.Routing;

/// <summary>
/// FNV-1a as carbon-c-relay computes it. It hashes through C's <c>char</c>, which is signed on x86-64, so a
/// byte of 0x80 or more is sign-extended before the XOR. That changes where non-ASCII names land, and the
/// vectors (made with Debian's amd64 carbon-c-relay) confirm it, so it is reproduced here.
/// </summary>
internal static class Fnv1a
{
    public static uint Hash32(ReadOnlySpan<byte> data)
    {
        uint hash = 2166136261;
        foreach (byte b in data)
            hash = (hash ^ (uint)(sbyte)b) * 16777619;
        return hash;
    }

    public static ulong Hash64(ReadOnlySpan<byte> data)
    {
        ulong hash = 14695981039346656037;
        foreach (byte b in data)
            hash = (hash ^ (ulong)(long)(sbyte)b) * 1099511628211;
        return hash;
    }

    /// <summary>carbon-c-relay's 16-bit ring position: the two halves of the 32-bit hash folded by XOR.</summary>
    public static int Position16(ReadOnlySpan<byte> data)
    {
        uint hash = Hash32(data);
        return (int)((hash >> 16) ^ (hash & 0xFFFF));
    }
}
