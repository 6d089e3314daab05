using System.Net;

namespace Polymur.Gateway.Configuration;

/// <summary>
/// One address the gateway listens on, for the loop check. A null <see cref="Address"/> is every interface
/// (<c>0.0.0.0</c>, <c>::</c> or an empty host); <see cref="What"/> names the listener in messages.
/// </summary>
public sealed record OwnListener(IPAddress? Address, int Port, string What)
{
    public override string ToString() => Address is null ? $"*:{Port}" : Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{Address}]:{Port}" : $"{Address}:{Port}";

    /// <summary>The listeners a host text binds: an empty host or a wildcard is every interface, localhost both loopbacks.</summary>
    public static IEnumerable<OwnListener> For(string host, int port, string what)
    {
        if (host.Length == 0)
            return [new(null, port, what)];
        if (host == "localhost")
            return [new(IPAddress.Loopback, port, what), new(IPAddress.IPv6Loopback, port, what)];
        if (!IPAddress.TryParse(host, out var ip))
            return [];
        return [For(ip, port, what)];
    }

    public static OwnListener For(IPAddress address, int port, string what) =>
        address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) ? new(null, port, what) : new(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address, port, what);
}
