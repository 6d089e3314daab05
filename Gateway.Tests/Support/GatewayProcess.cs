using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace Polymur.Gateway.Tests.Support;

/// <summary>The gateway as a separate OS process: the JIT build next to the tests, or the published native binary.</summary>
public sealed partial class GatewayProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _stderr = [];
    private readonly List<string> _stdout = [];

    private GatewayProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_stdout) _stdout.Add(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_stderr) _stderr.Add(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>The build of the gateway that sits next to the test assembly.</summary>
    public static string JitBinary => Path.Combine(AppContext.BaseDirectory, "polymur-gateway");

    /// <summary>`make publish`'s output: POLYMUR_GW_TEST_BINARY, or artifacts/publish/polymur-gateway in the repo.</summary>
    public static string NativeBinary =>
        Environment.GetEnvironmentVariable("POLYMUR_GW_TEST_BINARY") is { Length: > 0 } path ? path : Path.Combine(RepoRoot, "artifacts", "publish", "polymur-gateway");

    public static string RepoRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "polymur-gateway.sln")))
                dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("repo root not found above " + AppContext.BaseDirectory);
        }
    }

    public int Id => _process.Id;

    public bool Exited => _process.HasExited;

    public string Stderr
    {
        get { lock (_stderr) return string.Join('\n', _stderr); }
    }

    public string Stdout
    {
        get { lock (_stdout) return string.Join('\n', _stdout); }
    }

    public static GatewayProcess Start(string binary, IEnumerable<string> args, IDictionary<string, string>? env = null)
    {
        // Through env --default-signal, which then execs the binary (same pid): a test run started in the background
        // (`cmd &`, nohup) hands its children SIGINT or SIGHUP ignored, and a signal test would then see no shutdown
        // or no reload. The gateway under test gets the dispositions it has under systemd or a terminal.
        var info = new ProcessStartInfo("/usr/bin/env")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("--default-signal=HUP,INT,QUIT,TERM");
        info.ArgumentList.Add(binary);
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("POLYMUR_GW_", StringComparison.Ordinal)).ToList())
            info.Environment.Remove(key);
        // Never the default admin port: tests run in parallel.
        info.Environment["POLYMUR_GW_API_ADDR"] = "127.0.0.1:0";
        info.Environment["POLYMUR_GW_STAT_ADDR"] = "127.0.0.1:0";
        foreach (var (key, value) in env ?? new Dictionary<string, string>())
            info.Environment[key] = value;
        return new GatewayProcess(Process.Start(info)!);
    }

    /// <summary>Runs to completion and returns the exit code.</summary>
    public static async Task<(int Code, string Stdout, string Stderr)> RunAsync(string binary, IEnumerable<string> args, IDictionary<string, string>? env = null)
    {
        await using var p = Start(binary, args, env);
        int code = await p.WaitForExitAsync(TimeSpan.FromSeconds(30));
        return (code, p.Stdout, p.Stderr);
    }

    /// <summary>Waits for the "Listening for ingest on http://…" log line and returns that URL.</summary>
    public Task<string> WaitForHttpAsync() => WaitForUrlAsync("http://");

    /// <summary>Waits for a "Listening for ingest on" line whose URL starts with <paramref name="scheme"/>.</summary>
    public async Task<string> WaitForUrlAsync(string scheme)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            foreach (Match m in ListeningFor().Matches(Stderr))
            {
                if (m.Groups[1].Value.StartsWith(scheme, StringComparison.Ordinal))
                    return m.Groups[1].Value;
            }
            if (_process.HasExited)
                throw new InvalidOperationException($"gateway exited with {_process.ExitCode}: {Stderr}");
            await Task.Delay(10);
        }
        throw new TimeoutException($"no {scheme} listener: {Stderr}");
    }

    public async Task<bool> WaitForLogAsync(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (Stderr.Contains(text, StringComparison.Ordinal))
                return true;
            await Task.Delay(10);
        }
        return false;
    }

    public void Signal(int signal) => Posix.Signal(_process.Id, signal);

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        _process.WaitForExit(); // flushes the redirected streams
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }

    public const int SIGINT = Posix.SIGINT, SIGKILL = Posix.SIGKILL, SIGTERM = Posix.SIGTERM;

    [GeneratedRegex(@"Listening for ingest on (\S+)")]
    private static partial Regex ListeningFor();
}
