using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Polymur.Gateway.Outputs;

/// <summary>
/// What the kernel can tell about a destination socket, and the options that make it give up on a dead peer:
/// TCP_USER_TIMEOUT and keepalive, both from -destination-timeout. Linux only; elsewhere the options that exist
/// are set and acknowledgements read as "everything written".
/// </summary>
internal static class DestinationSocket
{
    private const int IpProtoTcp = 6;
    private const int TcpInfo = 11;
    private const int TcpUserTimeout = 18;

    // struct tcp_info (linux/tcp.h): tcpi_bytes_acked, a __u64 at byte 120 (since Linux 4.1). It is the count of
    // bytes the peer acknowledged (snd_una - isn), and it survives a reset, unlike SIOCOUTQ, whose send queue the
    // kernel purges on RST or on TCP_USER_TIMEOUT: read after a reset, SIOCOUTQ says "0 outstanding", which would
    // count everything as delivered.
    private const int BytesAckedOffset = 120;
    private const int TcpInfoLength = BytesAckedOffset + sizeof(ulong);

    /// <summary>
    /// Sets keepalive and TCP_USER_TIMEOUT so that the kernel ends a connection whose peer acknowledges nothing for
    /// <paramref name="timeout"/>: with data outstanding through TCP_USER_TIMEOUT; idle through keepalive probes,
    /// the first after half the timeout, then one a second. (With TCP_USER_TIMEOUT set, Linux ends the connection
    /// once a probe is out and the timeout has passed since the peer was last heard, whatever the probe count.)
    /// Call before connecting: .NET marks a connected socket as disconnected after any failed option, and an
    /// option this kernel refuses must not cost the connection.
    /// </summary>
    public static void Configure(Socket socket, TimeSpan timeout)
    {
        int seconds = Math.Max(1, (int)timeout.TotalSeconds);
        int idle = Math.Max(1, seconds / 2);
        int interval = 1;
        int count = Math.Clamp(seconds - idle, 1, 127); // TCP_KEEPCNT's limit
        Try(() => socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true));
        Try(() => socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, idle));
        Try(() => socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, interval));
        Try(() => socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, count));
        if (OperatingSystem.IsLinux())
        {
            int milliseconds = (int)timeout.TotalMilliseconds; // native byte order, as the kernel reads it
            Try(() => socket.SetRawSocketOption(IpProtoTcp, TcpUserTimeout, MemoryMarshal.AsBytes(new ReadOnlySpan<int>(ref milliseconds))));
        }
    }

    // An option this kernel lacks: the progress deadline still declares the destination down.
    private static void Try(Action set)
    {
        try
        {
            set();
        }
        catch (Exception e) when (e is SocketException or PlatformNotSupportedException)
        {
        }
    }

    /// <summary>
    /// The bytes of this connection the peer's TCP has acknowledged, or -1 if the kernel cannot say (not Linux, or
    /// the socket is gone). Monotonic for one connection.
    /// </summary>
    public static long BytesAcked(Socket socket)
    {
        if (!OperatingSystem.IsLinux())
            return -1;
        Span<byte> info = stackalloc byte[TcpInfoLength];
        try
        {
            int length = socket.GetRawSocketOption(IpProtoTcp, TcpInfo, info);
            if (length < TcpInfoLength)
                return -1;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return -1;
        }
        return (long)MemoryMarshal.Read<ulong>(info[BytesAckedOffset..]);
    }
}
