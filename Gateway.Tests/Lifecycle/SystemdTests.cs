using Polymur.Gateway.Hosting;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Lifecycle;

/// <summary>
/// Under systemd: READY=1 through sd_notify once the listeners are up, STOPPING=1 on SIGTERM, and logs in the
/// journal's format. .NET recognises a service by its parent process being named "systemd"; the test gives the
/// gateway such a parent (a shell run through a link of that name) and a real NOTIFY_SOCKET to talk to.
/// </summary>
public class SystemdTests
{
    [Test]
    public async Task Notifies_ready_and_stopping_and_logs_in_journal_format()
    {
        string dir = Directory.CreateTempSubdirectory("pgw-systemd-").FullName;
        string notifyPath = Path.Combine(dir, "notify.sock");
        string fakeSystemd = Path.Combine(dir, "systemd");
        File.CreateSymbolicLink(fakeSystemd, "/bin/sh");
        using var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        notify.Bind(new UnixDomainSocketEndPoint(notifyPath));

        var info = new ProcessStartInfo(fakeSystemd) { RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "-c", "\"$0\" & child=$!; trap 'kill -TERM $child' TERM; wait $child; wait $child", GatewayProcess.NativeBinary })
            info.ArgumentList.Add(arg);
        foreach (var (k, v) in new Dictionary<string, string>
        {
            ["NOTIFY_SOCKET"] = notifyPath,
            ["POLYMUR_GW_DEV_MODE"] = "true",
            ["POLYMUR_GW_LISTEN_ADDR"] = "127.0.0.1",
            ["POLYMUR_GW_LISTEN_HTTP_PORT"] = "0",
            ["POLYMUR_GW_API_ADDR"] = "127.0.0.1:0",
            ["POLYMUR_GW_STAT_ADDR"] = "127.0.0.1:0",
        })
            info.Environment[k] = v;
        using var shell = Process.Start(info)!;
        var stderr = shell.StandardError.ReadToEndAsync();

        string ready = await ReceiveAsync(notify);
        Posix.Signal(shell.Id, Posix.SIGTERM); // the shell's trap passes SIGTERM on to the gateway, as systemd would send it
        string stopping = await ReceiveAsync(notify);
        string log = await stderr.WaitAsync(TimeSpan.FromSeconds(20));

        await Assert.That(ready).IsEqualTo("READY=1");
        await Assert.That(stopping).IsEqualTo("STOPPING=1");
        await Assert.That(log).Contains("<6>GatewayApp[101] Listening for ingest on http://127.0.0.1:");
        await Assert.That(log).Contains("Listening for ingest on http://127.0.0.1:");
        Directory.Delete(dir, recursive: true);
    }

    private static async Task<string> ReceiveAsync(Socket socket)
    {
        var buffer = new byte[512];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        int n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
        return Encoding.ASCII.GetString(buffer, 0, n);
    }
}
