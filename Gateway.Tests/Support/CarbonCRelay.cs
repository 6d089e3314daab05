using System.Diagnostics;
using System.Net.Sockets;

namespace Polymur.Gateway.Tests.Support;

/// <summary>
/// A real carbon-c-relay (Debian's) with one line listener on 127.0.0.1: TLS into a file cluster (every line it
/// receives is written to a file the test reads), or plain into a forward cluster. Its gzip, lz4 and snappy
/// transports are not in Debian's build.
/// </summary>
public sealed class CarbonCRelay : IAsyncDisposable
{
    public const string Binary = "/usr/bin/carbon-c-relay";

    private readonly string _dir;
    private readonly Process _process;

    private CarbonCRelay(string dir, int port, Process process)
    {
        _dir = dir;
        Port = port;
        _process = process;
    }

    public int Port { get; }

    private string OutputPath => Path.Combine(_dir, "out.txt");

    /// <summary>Lines the relay has written out so far.</summary>
    public IReadOnlyList<string> Lines => File.Exists(OutputPath) ? File.ReadAllLines(OutputPath) : [];

    /// <param name="certificate">The relay's server certificate and key (written together, as it wants them).</param>
    public static async Task<CarbonCRelay> StartTlsAsync(TestCertificate certificate)
    {
        string dir = Directory.CreateTempSubdirectory("pgw-relay-").FullName;
        string pem = Path.Combine(dir, "relay.pem");
        await File.WriteAllTextAsync(pem, await File.ReadAllTextAsync(certificate.CertPath) + "\n" + await File.ReadAllTextAsync(certificate.KeyPath) + "\n");
        return await StartAsync(dir, port => $"""
            listen type linemode transport plain ssl {pem} 127.0.0.1:{port} proto tcp;
            cluster out file {Path.Combine(dir, "out.txt")};
            match * send to out stop;
            """);
    }

    /// <summary>A plain line listener whose one cluster forwards everything to 127.0.0.1:<paramref name="targetPort"/>.</summary>
    public static Task<CarbonCRelay> StartForwardingAsync(int targetPort) =>
        StartAsync(Directory.CreateTempSubdirectory("pgw-relay-").FullName, port => $"""
            listen type linemode 127.0.0.1:{port} proto tcp;
            cluster gateway forward 127.0.0.1:{targetPort};
            match * send to gateway stop;
            """);

    private static async Task<CarbonCRelay> StartAsync(string dir, Func<int, string> configFor)
    {
        if (!File.Exists(Binary))
            throw new FileNotFoundException($"no carbon-c-relay at {Binary}: apt-get install carbon-c-relay (make test-deps does)");
        int[] ports = Posix.FreePorts(2);
        int port = ports[0];
        string config = Path.Combine(dir, "relay.conf");
        await File.WriteAllTextAsync(config, configFor(port));
        var info = new ProcessStartInfo(Binary) { RedirectStandardOutput = true, RedirectStandardError = true };
        // -p is only the default listener, unused when the configuration has its own; it must not be the same port.
        // -q: a queue that holds a whole test's lines, so the relay never drops on a burst.
        foreach (var arg in new[] { "-f", config, "-s", "-p", ports[1].ToString(), "-q", "200000" })
            info.ArgumentList.Add(arg);
        var process = Process.Start(info)!;
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var relay = new CarbonCRelay(dir, port, process);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync("127.0.0.1", port);
                return relay;
            }
            catch (SocketException)
            {
                if (process.HasExited)
                    throw new InvalidOperationException($"carbon-c-relay exited with {process.ExitCode}: {string.Join(" / ", output.TakeLast(25))}");
                await Task.Delay(50);
            }
        }
        throw new TimeoutException("carbon-c-relay did not listen within 30 s");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
