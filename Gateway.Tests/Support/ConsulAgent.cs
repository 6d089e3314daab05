using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Polymur.Gateway.Consul;
using Polymur.Gateway.Keys;

namespace Polymur.Gateway.Tests.Support;

/// <summary>
/// A real Consul agent (`consul agent -dev`, Debian's 1.8.7 fetched by scripts/fetch-consul.sh) on 127.0.0.1
/// with free ports, started and stopped by the test. Optionally with ACLs on (default deny).
/// </summary>
public sealed class ConsulAgent : IAsyncDisposable
{
    public const string Prefix = "polymur/gateway/keys/";

    private readonly int[] _ports;
    private readonly string? _configFile;
    private Process? _process;

    private ConsulAgent(int[] ports, string? configFile, string? rootToken)
    {
        _ports = ports;
        _configFile = configFile;
        RootToken = rootToken;
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{HttpPort}/") };
        if (rootToken is not null)
            Http.DefaultRequestHeaders.Add("X-Consul-Token", rootToken);
    }

    public static string Binary => Path.Combine(GatewayProcess.RepoRoot, ".cache", "consul", "usr", "bin", "consul");

    public int HttpPort => _ports[0];

    public string Address => $"127.0.0.1:{HttpPort}";

    /// <summary>The management token, when ACLs are on.</summary>
    public string? RootToken { get; }

    /// <summary>A client with the management token (when ACLs are on), for setting up a test.</summary>
    public HttpClient Http { get; }

    public static async Task<ConsulAgent> StartAsync(bool acl = false)
    {
        if (!File.Exists(Binary))
            throw new FileNotFoundException($"no Consul agent at {Binary}: run scripts/fetch-consul.sh (make test does)");
        string? config = null;
        string? root = null;
        if (acl)
        {
            root = Guid.NewGuid().ToString();
            config = Path.Combine(Directory.CreateTempSubdirectory("pgw-consul-").FullName, "acl.hcl");
            await File.WriteAllTextAsync(config, $$"""
                acl {
                  enabled = true
                  default_policy = "deny"
                  tokens {
                    master = "{{root}}"
                    agent = "{{root}}"
                  }
                }
                """);
        }
        var agent = new ConsulAgent(Posix.FreePorts(4), config, root);
        await agent.StartProcessAsync();
        return agent;
    }

    /// <summary>Settings for the gateway or the key tool: this agent, the default prefix, the given token.</summary>
    public ConsulSettings Settings(string? token = null, TimeSpan? sync = null) =>
        new(new Uri($"http://127.0.0.1:{HttpPort}/"), token, true, null, null, null, Prefix, sync ?? TimeSpan.FromSeconds(30));

    public async Task PutAsync(string key, string? value)
    {
        var response = await Http.PutAsync($"v1/kv/{key}", value is null ? null : new StringContent(value, Encoding.UTF8));
        response.EnsureSuccessStatusCode();
    }

    public Task PutKeyAsync(string name, string key) => PutAsync(Prefix + name, key);

    public async Task DeleteKeyAsync(string name) => (await Http.DeleteAsync($"v1/kv/{Prefix}{name}")).EnsureSuccessStatusCode();

    /// <summary>Creates an ACL token with the given rules (empty: no permissions at all) and returns its secret.</summary>
    public async Task<string> CreateTokenAsync(string rules) => (await CreateTokenWithAccessorAsync(rules)).Secret;

    /// <summary>Takes every policy away from a token, which keeps working but may read nothing.</summary>
    public async Task RevokePoliciesAsync(string accessor, string secret)
    {
        var update = await Http.PutAsJsonAsync($"v1/acl/token/{accessor}",
            new Dictionary<string, object> { ["AccessorID"] = accessor, ["SecretID"] = secret, ["Policies"] = Array.Empty<object>() });
        update.EnsureSuccessStatusCode();
    }

    public async Task<(string Secret, string Accessor)> CreateTokenWithAccessorAsync(string rules)
    {
        var policies = new List<object>();
        if (rules.Length > 0)
        {
            string name = "p" + Guid.NewGuid().ToString("N");
            (await Http.PutAsJsonAsync("v1/acl/policy", new Dictionary<string, string> { ["Name"] = name, ["Rules"] = rules })).EnsureSuccessStatusCode();
            policies.Add(new Dictionary<string, string> { ["Name"] = name });
        }
        var response = await Http.PutAsJsonAsync("v1/acl/token", new Dictionary<string, object> { ["Policies"] = policies });
        response.EnsureSuccessStatusCode();
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (json.RootElement.GetProperty("SecretID").GetString()!, json.RootElement.GetProperty("AccessorID").GetString()!);
    }

    /// <summary>Kills the agent (SIGKILL): it answers nothing until restarted, and a dev agent forgets its data.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } p)
        {
            p.Kill();
            await p.WaitForExitAsync();
        }
        _process?.Dispose();
        _process = null;
    }

    /// <summary>SIGSTOP: the agent keeps its sockets (connections are accepted by the kernel) but answers nothing.</summary>
    public void Pause() => Posix.Signal(_process!.Id, Posix.SIGSTOP);

    /// <summary>SIGCONT after <see cref="Pause"/>.</summary>
    public void Resume() => Posix.Signal(_process!.Id, Posix.SIGCONT);

    /// <summary>Starts the agent again on the same ports (empty: dev mode keeps nothing).</summary>
    public Task RestartAsync() => StartProcessAsync();

    private async Task StartProcessAsync()
    {
        var info = new ProcessStartInfo(Binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
        {
            "agent", "-dev", "-bind=127.0.0.1", "-client=127.0.0.1", "-log-level=warn",
            $"-http-port={_ports[0]}", $"-serf-lan-port={_ports[1]}", $"-serf-wan-port={_ports[2]}", $"-server-port={_ports[3]}",
            "-dns-port=-1", "-grpc-port=-1",
        })
            info.ArgumentList.Add(arg);
        if (_configFile is not null)
            info.ArgumentList.Add($"-config-file={_configFile}");
        _process = Process.Start(info)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                // Ready once there is a leader and the KV store answers (with ACLs: once the ACL system is up).
                string leader = await Http.GetStringAsync("v1/status/leader");
                if (leader.Contains(':'))
                {
                    var kv = await Http.GetAsync($"v1/kv/{Prefix}?recurse");
                    if (kv.StatusCode is HttpStatusCode.OK or HttpStatusCode.NotFound)
                        return;
                }
            }
            catch (HttpRequestException)
            {
            }
            if (_process.HasExited)
                throw new InvalidOperationException($"consul exited with {_process.ExitCode}");
            await Task.Delay(50);
        }
        throw new TimeoutException("consul agent did not become ready in 30s");
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        Http.Dispose();
        if (_configFile is not null)
            Directory.Delete(Path.GetDirectoryName(_configFile)!, recursive: true);
    }
}
