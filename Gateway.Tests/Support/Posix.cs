using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Polymur.Gateway.Tests.Support;

/// <summary>Signals and free ports, for tests that drive real processes and listeners.</summary>
public static partial class Posix
{
    public const int SIGHUP = 1, SIGINT = 2, SIGKILL = 9, SIGTERM = 15, SIGCONT = 18, SIGSTOP = 19;

    public static void Signal(int pid, int signal) => _ = Kill(pid, signal);

    /// <summary>Ports the kernel just handed out and that were released again (tests bind them right after).</summary>
    public static int[] FreePorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        listeners.ForEach(l => l.Start());
        var ports = listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        listeners.ForEach(l => l.Stop());
        return ports;
    }

    public static int FreePort() => FreePorts(1)[0];

    /// <summary>
    /// A port that refuses connections and that no other test can take meanwhile: bound, never listening (a
    /// connect gets a reset at once). A port from <see cref="FreePort"/> can be taken by a parallel test's sink, and
    /// then the "down" destination is up. Dispose it just before a sink is started on the port.
    /// </summary>
    public static Socket ClosedPort()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return socket;
    }

    public static int PortOf(Socket socket) => ((IPEndPoint)socket.LocalEndPoint!).Port;

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);
}
