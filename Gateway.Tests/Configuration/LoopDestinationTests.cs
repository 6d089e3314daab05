using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Polymur.Gateway.Configuration;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Configuration;

/// <summary>
/// A destination that is one of the gateway's own listeners is refused at start (exit 2): its lines would come
/// back in and go out again without end (the probe saw one line become 610,937 copies in 10 s).
/// </summary>
public class LoopDestinationTests
{
    private static CommandLineResult Parse(params string[] args) => CommandLine.Parse(args, _ => null);

    private static string[] Listening(int http, int tcp, int stats, int api, string listenAddr = "127.0.0.1") =>
        ["-dev-mode", "-listen-addr", listenAddr, "-listen-http-port", $"{http}", "-listen-tcp-port", $"{tcp}", "-tcp-tenant", "edge",
         "-stat-addr", $"127.0.0.1:{stats}", "-api-addr", $"127.0.0.1:{api}"];

    // An address of this machine that is not loopback, if it has one.
    private static IPAddress? InterfaceAddress() =>
        NetworkInterface.GetAllNetworkInterfaces().SelectMany(n => n.GetIPProperties().UnicastAddresses).Select(u => u.Address)
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));

    [Test]
    public async Task Each_own_listener_as_a_destination_is_refused_naming_the_listener()
    {
        var ports = Posix.FreePorts(4);
        int http = ports[0], tcp = ports[1], stats = ports[2], api = ports[3];
        var cases = new (string Destination, string Listener)[]
        {
            ($"127.0.0.1:{tcp}", "-listen-tcp-port"),
            ($"localhost:{tcp}", "-listen-tcp-port"),
            ($"0.0.0.0:{tcp}", "-listen-tcp-port"),
            ($"[::ffff:127.0.0.1]:{tcp}", "-listen-tcp-port"),
            ($"127.0.0.1:{http}", "-listen-http-port"),
            ($"tls://127.0.0.1:{stats}", "-stat-addr"),
            ($"127.0.0.1:{api}:x", "-api-addr"),
        };
        foreach (var (destination, listener) in cases)
        {
            var result = Parse([.. Listening(http, tcp, stats, api), "-destinations", $"127.0.0.1:{Posix.FreePort()},{destination}"]);
            await Assert.That(result.Kind).IsEqualTo(CommandKind.Error).Because(destination);
            await Assert.That(result.Error!).StartsWith("-destinations (POLYMUR_GW_DESTINATIONS) ").Because(destination);
            await Assert.That(result.Error!).Contains($"own {listener} listener").Because(destination);
        }
    }

    [Test]
    public async Task A_wildcard_listener_is_reached_through_every_local_address_and_a_loopback_one_is_not()
    {
        var ports = Posix.FreePorts(4);
        int http = ports[0], tcp = ports[1], stats = ports[2], api = ports[3];
        var local = InterfaceAddress();
        string[] onEvery = [.. Listening(http, tcp, stats, api, listenAddr: "0.0.0.0")];

        await Assert.That(Parse([.. onEvery, "-destinations", $"127.0.0.5:{http}"]).Error).Contains("own -listen-http-port listener");
        await Assert.That(Parse([.. onEvery, "-destinations", $"[::1]:{http}"]).Error).Contains("own -listen-http-port listener");
        await Assert.That(Parse([.. onEvery, "-destinations", $"localhost:{http}"]).Error).Contains("own -listen-http-port listener");
        // Another machine's address on the same port, and the same address on another port, are fine.
        await Assert.That(Parse([.. onEvery, "-destinations", $"192.0.2.77:{http}"]).Kind).IsEqualTo(CommandKind.Run);
        await Assert.That(Parse([.. onEvery, "-destinations", $"127.0.0.1:{Posix.FreePort()}"]).Kind).IsEqualTo(CommandKind.Run);
        if (local is not null)
        {
            await Assert.That(Parse([.. onEvery, "-destinations", $"{local}:{http}"]).Error).Contains("own -listen-http-port listener");
            // A listener on 127.0.0.1 only cannot be reached through the interface's address.
            await Assert.That(Parse([.. Listening(http, tcp, stats, api), "-destinations", $"{local}:{http}"]).Kind).IsEqualTo(CommandKind.Run);
        }
    }

    [Test]
    public async Task The_native_binary_exits_2_with_its_own_plaintext_stats_or_http_port_as_a_destination()
    {
        await Assert.That(File.Exists(GatewayProcess.NativeBinary)).IsTrue().Because("make publish first");
        var ports = Posix.FreePorts(4);
        int http = ports[0], tcp = ports[1], stats = ports[2], api = ports[3];

        var (code, _, stderr) = await GatewayProcess.RunAsync(GatewayProcess.NativeBinary, [.. Listening(http, tcp, stats, api), "-destinations", $"127.0.0.1:{tcp}"]);
        var viaStats = await GatewayProcess.RunAsync(GatewayProcess.NativeBinary, [.. Listening(http, tcp, stats, api), "-destinations", $"localhost:{stats}"]);
        var viaHttp = await GatewayProcess.RunAsync(GatewayProcess.NativeBinary, [.. Listening(http, tcp, stats, api, listenAddr: ""), "-destinations", $"127.0.0.1:{http}"]);

        await Assert.That(code).IsEqualTo(2).Because(stderr);
        await Assert.That(stderr).Contains($"127.0.0.1:{tcp} is this gateway's own -listen-tcp-port listener");
        await Assert.That(stderr).DoesNotContain("   at ");
        await Assert.That(viaStats.Code).IsEqualTo(2).Because(viaStats.Stderr);
        await Assert.That(viaStats.Stderr).Contains("own -stat-addr listener");
        await Assert.That(viaHttp.Code).IsEqualTo(2).Because(viaHttp.Stderr);
        await Assert.That(viaHttp.Stderr).Contains($"own -listen-http-port listener (*:{http})");
    }
}
