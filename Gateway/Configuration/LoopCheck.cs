using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace Polymur.Gateway.Configuration;

/// <summary>
/// Tells a destination that is one of the gateway's own listeners: every line sent there comes back in and goes
/// out again, without end (one line became 610,937 copies in 10 s). Refused at start (exit 2) and by the admin
/// API (400). A listener on every interface is reached through every address of this machine: 127.0.0.0/8, ::1,
/// each interface's addresses, and 0.0.0.0 or :: as a destination (Linux connects those to loopback). A listener on
/// a loopback address is taken to be reached through any loopback address, the safe side. A host name is resolved
/// for the check; one that does not resolve within <see cref="ResolveTimeout"/> is let through (the writer resolves
/// it again at every connect), so a name that comes to point here later is not caught.
/// </summary>
internal static class LoopCheck
{
    public static readonly TimeSpan ResolveTimeout = TimeSpan.FromSeconds(2);

    /// <summary>The listeners the options ask for. Port 0's real port is not known before the bind; it is left out.</summary>
    public static List<OwnListener> Configured(GatewayOptions o)
    {
        var own = new List<OwnListener>();
        void Add(string host, int port, string what)
        {
            if (port != 0)
                own.AddRange(OwnListener.For(host, port, what));
        }
        Add(o.ListenAddress, o.HttpPort, "-listen-http-port");
        if (o.HttpsEnabled)
            Add(o.ListenAddress, o.HttpsPort, "-listen-https-port");
        if (o.TcpPort is int tcp)
            Add(o.TcpAddress, tcp, "-listen-tcp-port");
        Add(o.ApiAddress.Host, o.ApiAddress.Port, "-api-addr");
        Add(o.StatAddress.Host, o.StatAddress.Port, "-stat-addr");
        return own;
    }

    /// <summary>Why <paramref name="destination"/> is a loop, or null when it is not one of <paramref name="own"/>.</summary>
    public static async Task<string?> ProblemAsync(DestinationAddress destination, IReadOnlyList<OwnListener> own, CancellationToken cancel)
    {
        if (!own.Any(l => l.Port == destination.Port))
            return null; // no lookup for the common case
        var addresses = await ResolveAsync(destination.Host, cancel);
        var hit = Find(addresses, destination.Port, own, LocalAddresses());
        return hit is null ? null
            : $"{destination.Name} is this gateway's own {hit.What} listener ({hit}): every line sent there would come back in and go out again, without end";
    }

    /// <summary>The listener a connection to one of <paramref name="addresses"/> on <paramref name="port"/> would reach, or null.</summary>
    public static OwnListener? Find(IEnumerable<IPAddress> addresses, int port, IReadOnlyList<OwnListener> own, Func<IPAddress, bool> isLocal)
    {
        foreach (var address in addresses)
        {
            var ip = Normalize(address);
            foreach (var listener in own)
            {
                if (listener.Port != port)
                    continue;
                bool reached = listener.Address is null ? isLocal(ip)
                    : IPAddress.IsLoopback(listener.Address) ? IPAddress.IsLoopback(ip)
                    : Same(listener.Address, ip);
                if (reached)
                    return listener;
            }
        }
        return null;
    }

    /// <summary>Loopback, or an address of one of this machine's interfaces (read now: interfaces come and go).</summary>
    public static Func<IPAddress, bool> LocalAddresses()
    {
        var local = new List<IPAddress>();
        try
        {
            foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
                local.AddRange(nic.GetIPProperties().UnicastAddresses.Select(u => Normalize(u.Address)));
        }
        catch (NetworkInformationException)
        {
            // Loopback is still known; the interfaces' own addresses are then not checked.
        }
        return ip => IPAddress.IsLoopback(ip) || local.Any(l => Same(l, ip));
    }

    private static async Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancel)
    {
        if (IPAddress.TryParse(host, out var literal))
            return [literal];
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
            return [IPAddress.Loopback, IPAddress.IPv6Loopback];
        try
        {
            return await Dns.GetHostAddressesAsync(host, cancel).WaitAsync(ResolveTimeout, cancel);
        }
        catch (Exception e) when (e is SocketException or TimeoutException or ArgumentException)
        {
            return [];
        }
    }

    // A v4-mapped v6 address is its v4 one; 0.0.0.0 and :: as a destination reach this machine's loopback.
    private static IPAddress Normalize(IPAddress ip)
    {
        if (ip.IsIPv4MappedToIPv6)
            ip = ip.MapToIPv4();
        return ip.Equals(IPAddress.Any) ? IPAddress.Loopback : ip.Equals(IPAddress.IPv6Any) ? IPAddress.IPv6Loopback : ip;
    }

    // By address bytes: a link-local address's scope id names an interface, not another address.
    private static bool Same(IPAddress a, IPAddress b) => a.AddressFamily == b.AddressFamily && a.GetAddressBytes().AsSpan().SequenceEqual(b.GetAddressBytes());
}
