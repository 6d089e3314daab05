using System.Net;
using Polymur.Gateway.Configuration;
using Polymur.Gateway.Primitives;

namespace Polymur.Gateway.Ingest.Plaintext;

/// <summary>What the plaintext listener needs from the configuration.</summary>
internal sealed record PlaintextOptions(IPAddress Address, int Port, string Tenant, int MaxConnections, TimeSpan IdleTimeout, int MaxLineLength, TimeSpan QueueWait)
{
    /// <summary>
    /// Each connection's read buffer: room for two of the longest lines, so a line cut by a read always fits
    /// whole beside the next one, and at least 64 KiB, so a busy sender's reads are batched.
    /// </summary>
    public int ReadBufferSize => BufferPool.SizeFor(Math.Max(64 << 10, 2 * (MaxLineLength + 1)));

    /// <summary>Null when -listen-tcp-port is not set.</summary>
    public static PlaintextOptions? From(GatewayOptions o) =>
        o.TcpPort is not int port ? null
            : new(IPAddress.Parse(o.TcpAddress), port, o.TcpTenant!, o.TcpMaxConnections, o.TcpIdleTimeout, o.MaxLineLength, o.QueueWait);
}
