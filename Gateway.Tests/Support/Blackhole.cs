using System.Diagnostics;

namespace Polymur.Gateway.Tests.Support;

/// <summary>
/// Drops every packet to a loopback port, as a host that lost power or a firewall would: no FIN, no RST, no
/// answer at all (iptables on 127.0.0.1 only; needs root and the iptables package, which make test-deps installs).
/// Removed on dispose, and only the rule this added.
/// </summary>
public sealed class Blackhole : IAsyncDisposable
{
    private readonly string[] _rule;
    private bool _on;

    private Blackhole(int port) => _rule = ["INPUT", "-i", "lo", "-p", "tcp", "--dport", port.ToString(), "-j", "DROP"];

    public static async Task<Blackhole> StartAsync(int port)
    {
        var hole = new Blackhole(port);
        await IptablesAsync(["-I", .. hole._rule]);
        hole._on = true;
        return hole;
    }

    /// <summary>Lets packets through again.</summary>
    public async Task LiftAsync()
    {
        if (!_on)
            return;
        _on = false;
        await IptablesAsync(["-D", .. _rule]);
    }

    private static async Task IptablesAsync(string[] args)
    {
        var info = new ProcessStartInfo("iptables") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string arg in args)
            info.ArgumentList.Add(arg);
        using var process = Process.Start(info) ?? throw new InvalidOperationException("iptables did not start");
        string error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"iptables {string.Join(' ', args)}: exit {process.ExitCode}: {error} (root and the iptables package are needed: make test-deps)");
    }

    public async ValueTask DisposeAsync() => await LiftAsync();
}
