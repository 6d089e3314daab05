using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Polymur.Gateway.Configuration;

namespace Polymur.Gateway.Hosting;

/// <summary>Opens the Kestrel listeners and remembers which is which, so their bound addresses can be reported.</summary>
internal sealed class Listeners
{
    private readonly List<(ListenerScope Scope, string Scheme, ListenOptions Options)> _opened = [];

    /// <summary>The bound URLs of one listener kind (real ports once started, also when 0 was asked for).</summary>
    public IReadOnlyList<string> Urls(ListenerScope scope) =>
        [.. _opened.Where(l => l.Scope == scope).Select(l => $"{l.Scheme}://{Format(l.Options.IPEndPoint!)}")];

    /// <summary>Every bound Kestrel listener, for the loop check (real ports once started).</summary>
    public IEnumerable<OwnListener> Bound() =>
        _opened.Where(l => l.Options.IPEndPoint is not null).Select(l => OwnListener.For(l.Options.IPEndPoint!.Address, l.Options.IPEndPoint.Port, l.Scope switch
        {
            ListenerScope.Admin => "-api-addr",
            ListenerScope.Stats => "-stat-addr",
            _ => l.Scheme == "https" ? "-listen-https-port" : "-listen-http-port",
        }));

    /// <param name="limit">Connection middleware that runs first, before any TLS handshake.</param>
    public void Open(KestrelServerOptions kestrel, ListenerScope scope, string host, int port, HttpProtocols protocols, Action<ListenOptions>? https = null, ConnectionLimit? limit = null)
    {
        void Configure(ListenOptions listen)
        {
            listen.Protocols = protocols;
            limit?.Apply(listen);
            https?.Invoke(listen);
            ListenerScopes.Tag(listen, scope);
            _opened.Add((scope, https is null ? "http" : "https", listen));
        }

        if (host.Length == 0)
            kestrel.ListenAnyIP(port, Configure);
        else if (host == "localhost" && port != 0)
            kestrel.ListenLocalhost(port, Configure);
        else
            kestrel.Listen(host == "localhost" ? IPAddress.Loopback : IPAddress.Parse(host), port, Configure);
    }

    public void Open(KestrelServerOptions kestrel, ListenerScope scope, ListenEndpoint endpoint) =>
        Open(kestrel, scope, endpoint.Host, endpoint.Port, HttpProtocols.Http1);

    private static string Format(IPEndPoint endpoint) =>
        endpoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{endpoint.Address}]:{endpoint.Port}" : $"{endpoint.Address}:{endpoint.Port}";
}
