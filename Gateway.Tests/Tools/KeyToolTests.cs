using Polymur.Gateway.Configuration;
using Polymur.Gateway.Keys;
using Polymur.Gateway.Tools;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Tools;

/// <summary>`polymur-gateway keys …` against a real Consul agent, run in-process and as pgw-key.</summary>
public class KeyToolTests
{
    private static async Task<(int Code, string Out, string Err)> RunAsync(ConsulAgent consul, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var env = new Dictionary<string, string> { ["CONSUL_HTTP_ADDR"] = consul.Address };
        int code = await KeyTool.RunAsync("pgw-key", args, new GatewayOptions(), n => env.GetValueOrDefault(n), stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Test]
    public async Task Create_list_regen_delete_with_the_originals_wording()
    {
        await using var consul = await ConsulAgent.StartAsync();

        var create = await RunAsync(consul, "create", "team-a");
        string key = create.Out.Trim().Split(' ')[^1];
        var again = await RunAsync(consul, "create", "team-a");
        var names = await RunAsync(consul, "list", "names");
        var all = await RunAsync(consul, "list", "all");
        var shown = await RunAsync(consul, "list", "all", "--show-keys");
        var regen = await RunAsync(consul, "regen", "team-a");
        var delete = await RunAsync(consul, "delete", "team-a");
        var gone = await RunAsync(consul, "delete", "team-a");

        await Assert.That(create.Code).IsEqualTo(0);
        await Assert.That(create.Out).IsEqualTo($"Successfully registered team-a with key {key}\n");
        await Assert.That(key).Matches("^[0-9a-f]{32}$");
        await Assert.That(again.Code).IsEqualTo(1);
        await Assert.That(again.Err).IsEqualTo("pgw-key: Key team-a already exists\n");
        await Assert.That(names.Out).IsEqualTo("team-a\n");
        await Assert.That(all.Out).IsEqualTo($"team-a: {key[..4]}…(32 chars)\n");
        await Assert.That(all.Out).DoesNotContain(key);
        await Assert.That(shown.Out).IsEqualTo($"team-a: {key}\n");
        await Assert.That(regen.Out).StartsWith("Successfully regenerated team-a with key ");
        await Assert.That(regen.Out).DoesNotContain(key);
        await Assert.That(delete.Out).IsEqualTo("Successfully deleted team-a\n");
        await Assert.That(gone.Code).IsEqualTo(1);
        await Assert.That(gone.Err).IsEqualTo("pgw-key: Key team-a doesn't exist\n");
    }

    [Test]
    public async Task Limit_sets_shows_lifts_and_removes_a_tenants_quota_in_the_folder_the_gateway_watches()
    {
        await using var consul = await ConsulAgent.StartAsync();
        async Task<string?> StoredAsync()
        {
            var response = await consul.Http.GetAsync("v1/kv/polymur/gateway/limits/team-a?raw");
            return response.IsSuccessStatusCode ? await response.Content.ReadAsStringAsync() : null;
        }

        var none = await RunAsync(consul, "limit", "team-a");
        await Assert.That(none.Out).IsEqualTo("team-a: no limit of its own; the default (-tenant-rate-limit) applies\n");

        var set = await RunAsync(consul, "limit", "team-a", "5000");
        await Assert.That(set.Out).IsEqualTo("Set the limit of team-a to 5000 points/s, burst 5000\n");
        await Assert.That(await StoredAsync()).IsEqualTo("{\"rate\": 5000, \"burst\": 5000}");
        await Assert.That((await RunAsync(consul, "limit", "team-a")).Out).IsEqualTo("team-a: 5000 points/s, burst 5000\n");

        await RunAsync(consul, "limit", "team-a", "250.5", "1000");
        var stored = await StoredAsync();
        await Assert.That(Polymur.Gateway.Tenants.TenantLimit.TryParse(System.Text.Encoding.UTF8.GetBytes(stored!), out var parsed, out _)).IsTrue();
        await Assert.That(parsed).IsEqualTo(new Polymur.Gateway.Tenants.TenantLimit(250.5, 1000));

        var lifted = await RunAsync(consul, "limit", "team-a", "none");
        await Assert.That(lifted.Out).IsEqualTo("Set the limit of team-a to none\n");
        await Assert.That(await StoredAsync()).IsEqualTo("{\"rate\": 0}");

        var removed = await RunAsync(consul, "limit", "team-a", "default");
        await Assert.That(removed.Out).IsEqualTo("Removed the limit of team-a: the default (-tenant-rate-limit) applies\n");
        await Assert.That(await StoredAsync()).IsNull();

        foreach (var bad in new[] { new[] { "limit", "team-a", "fast" }, ["limit", "team-a", "-5"], ["limit", "team-a", "0"], ["limit", "team a", "5"], ["limit"] })
        {
            var result = await RunAsync(consul, bad);
            await Assert.That(result.Code).IsEqualTo(Polymur.Gateway.Configuration.CommandLine.UsageExitCode);
            await Assert.That(result.Err).StartsWith("pgw-key: ");
        }
        await Assert.That(await StoredAsync()).IsNull();

        // A bad value someone wrote by hand is reported, not shown as a limit.
        await consul.PutAsync("polymur/gateway/limits/team-a", "lots");
        var broken = await RunAsync(consul, "limit", "team-a");
        await Assert.That(broken.Code).IsEqualTo(1);
        await Assert.That(broken.Err).Contains("holds a bad limit");
    }

    [Test]
    public async Task Limit_refuses_rates_the_gateway_cannot_use_and_names_the_range()
    {
        await using var consul = await ConsulAgent.StartAsync();
        async Task<string?> StoredAsync()
        {
            var response = await consul.Http.GetAsync("v1/kv/polymur/gateway/limits/team-a?raw");
            return response.IsSuccessStatusCode ? await response.Content.ReadAsStringAsync() : null;
        }

        // Out of range: written as decimals (the tool took 0.0000000000001 and wrote {"rate": 1E-13}) or with an exponent.
        foreach (var bad in new[] { new[] { "0.0000000000001" }, ["1e-13"], ["0.0009"], ["2000000000"], ["5", "1e308"], ["5", "0.5"] })
        {
            var result = await RunAsync(consul, ["limit", "team-a", .. bad]);
            await Assert.That(result.Code).IsEqualTo(CommandLine.UsageExitCode).Because(string.Join(' ', bad));
            await Assert.That(result.Err).Contains("out of range (rate: 0 (no limit) or 0.001 to 1e9 points per second; burst: 1 to 1e9 points)").Because(string.Join(' ', bad));
        }
        // Not numbers at all.
        foreach (var bad in new[] { new[] { "NaN" }, ["Infinity"], ["-5"], ["5", "NaN"], ["0x10"] })
        {
            var result = await RunAsync(consul, ["limit", "team-a", .. bad]);
            await Assert.That(result.Code).IsEqualTo(CommandLine.UsageExitCode).Because(string.Join(' ', bad));
            await Assert.That(result.Err).StartsWith("pgw-key: not a limit: ");
        }
        await Assert.That(await StoredAsync()).IsNull();

        // The edges are in range, an exponent is a number.
        await Assert.That((await RunAsync(consul, "limit", "team-a", "0.001")).Out).IsEqualTo("Set the limit of team-a to 0.001 points/s, burst 1\n");
        await Assert.That((await RunAsync(consul, "limit", "team-a", "1e9")).Code).IsEqualTo(0);
        await Assert.That(await StoredAsync()).IsEqualTo("{\"rate\": 1000000000, \"burst\": 1000000000}");
    }

    [Test]
    public async Task Two_operators_creating_one_name_at_once_cannot_both_win()
    {
        await using var consul = await ConsulAgent.StartAsync();

        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => RunAsync(consul, "create", "contested")));

        await Assert.That(results.Count(r => r.Code == 0)).IsEqualTo(1);
        await Assert.That(results.Count(r => r.Err.Contains("already exists"))).IsEqualTo(7);
    }

    [Test]
    public async Task Keys_are_distinct_128_bit_hex()
    {
        var keys = Enumerable.Range(0, 1000).Select(_ => KeyTool.NewKey()).ToHashSet();
        await Assert.That(keys.Count).IsEqualTo(1000);
        await Assert.That(keys.All(k => k.Length == 32 && k.All(char.IsAsciiHexDigitLower))).IsTrue();
    }

    [Test]
    [Arguments("create", "bad name")]
    [Arguments("create", "")]
    [Arguments("create", ".hidden")]
    [Arguments("create", "a.b")]
    [Arguments("create", "a.")]
    [Arguments("create", ".")]
    [Arguments("create", "_reserved")]
    [Arguments("create", "é")]
    [Arguments("frobnicate", "x")]
    public async Task Bad_names_and_commands_are_usage_errors(string command, string name)
    {
        await using var consul = await ConsulAgent.StartAsync();
        var result = await RunAsync(consul, command, name);
        await Assert.That(result.Code).IsEqualTo(2);
        await Assert.That(result.Err.Split('\n')[0]).StartsWith("pgw-key: ");
        await Assert.That((await consul.Http.GetAsync("v1/kv/polymur/gateway/keys/?recurse")).StatusCode).IsEqualTo(System.Net.HttpStatusCode.NotFound);
    }

    [Test]
    public async Task Consul_down_is_one_clear_line_and_exit_1()
    {
        var consul = await ConsulAgent.StartAsync();
        await consul.KillAsync();
        var result = await RunAsync(consul, "list");
        await consul.DisposeAsync();

        await Assert.That(result.Code).IsEqualTo(1);
        await Assert.That(result.Err).StartsWith($"pgw-key: cannot reach http://{consul.Address}/");
        await Assert.That(result.Err.Trim().Split('\n').Length).IsEqualTo(1);
    }

    [Test]
    public async Task Acl_denied_is_one_clear_line_and_exit_1()
    {
        await using var consul = await ConsulAgent.StartAsync(acl: true);
        string readOnly = await consul.CreateTokenAsync("""key_prefix "polymur/gateway/keys/" { policy = "read" }""");
        var env = new Dictionary<string, string> { ["CONSUL_HTTP_ADDR"] = consul.Address, ["CONSUL_HTTP_TOKEN"] = readOnly };
        var stderr = new StringWriter();

        int code = await KeyTool.RunAsync("pgw-key", ["create", "blocked"], new GatewayOptions(), n => env.GetValueOrDefault(n), new StringWriter(), stderr);

        await Assert.That(code).IsEqualTo(1);
        await Assert.That(stderr.ToString()).StartsWith("pgw-key: Consul answered 403 Forbidden");
        await Assert.That(stderr.ToString()).DoesNotContain(readOnly);
    }

    [Test]
    public async Task The_binary_runs_the_tool_as_keys_and_as_pgw_key()
    {
        await using var consul = await ConsulAgent.StartAsync();
        var env = new Dictionary<string, string> { ["CONSUL_HTTP_ADDR"] = consul.Address };
        string link = Path.Combine(Directory.CreateTempSubdirectory("pgw-link-").FullName, "pgw-key");
        File.CreateSymbolicLink(link, GatewayProcess.JitBinary);

        var viaSubcommand = await GatewayProcess.RunAsync(GatewayProcess.JitBinary, ["keys", "create", "via-keys"], env);
        var viaLink = await GatewayProcess.RunAsync(link, ["list", "names"], env);

        await Assert.That(viaSubcommand.Code).IsEqualTo(0);
        await Assert.That(viaSubcommand.Stdout).StartsWith("Successfully registered via-keys with key ");
        await Assert.That(viaLink.Code).IsEqualTo(0);
        await Assert.That(viaLink.Stdout.Trim()).IsEqualTo("via-keys");
    }
}
