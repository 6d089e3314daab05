using System.Diagnostics;
using System.Text;

namespace Polymur.Gateway.Tests.Support;

/// <summary>
/// A real command-line HTTP client (h2load, curl) run to its end, or killed at a deadline: a client that hangs
/// against the gateway is then a failed assertion with what it printed, not a hung test.
/// </summary>
public static class ClientTool
{
    public const string H2load = "/usr/bin/h2load", Curl = "/usr/bin/curl";

    /// <summary>What it printed (stdout and stderr), and whether it finished before the deadline.</summary>
    public sealed record Run(bool Finished, int ExitCode, string Output);

    public static async Task<Run> RunAsync(string binary, IEnumerable<string> args, TimeSpan deadline)
    {
        if (!File.Exists(binary))
            throw new FileNotFoundException($"no {binary}: apt-get install nghttp2-client curl (make test-deps does)");
        var info = new ProcessStartInfo(binary) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var limit = new CancellationTokenSource(deadline);
        bool finished = true;
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            finished = false;
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
        // The output events may still be draining after exit; the parameterless wait flushes them.
        process.WaitForExit();
        lock (output)
            return new Run(finished, finished ? process.ExitCode : -1, output.ToString());
    }
}
