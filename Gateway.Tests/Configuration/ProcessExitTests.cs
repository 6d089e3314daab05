using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Configuration;

/// <summary>What an operator sees when starting the real process with bad or no flags.</summary>
public class ProcessExitTests
{
    [Test]
    [Arguments(new[] { "-listen-http-port", "abc" }, "-listen-http-port")]
    [Arguments(new[] { "-distribution", "random" }, "-distribution")]
    [Arguments(new[] { "-destinations", "nohost" }, "-destinations")]
    [Arguments(new[] { "-cert", "/etc/hostname" }, "-cert")]
    [Arguments(new[] { "stray" }, "stray")]
    [Arguments(new[] { "-api-addr", "0.0.0.0:0" }, "-api-token-file")]
    public async Task Bad_config_prints_one_line_and_exits_2(string[] args, string mentions)
    {
        var (code, stdout, stderr) = await GatewayProcess.RunAsync(GatewayProcess.JitBinary, args);

        await Assert.That(code).IsEqualTo(2);
        await Assert.That(stderr.Trim().Split('\n').Length).IsEqualTo(1);
        await Assert.That(stderr).StartsWith("polymur-gateway: ");
        await Assert.That(stderr).Contains(mentions);
        await Assert.That(stdout).IsEmpty();
    }

    [Test]
    public async Task Bad_env_value_exits_2_naming_the_env_var()
    {
        var (code, _, stderr) = await GatewayProcess.RunAsync(GatewayProcess.JitBinary, [], new Dictionary<string, string> { ["POLYMUR_GW_DEV_MODE"] = "yes please" });

        await Assert.That(code).IsEqualTo(2);
        await Assert.That(stderr).Contains("POLYMUR_GW_DEV_MODE");
    }

    [Test]
    [Arguments("CONSUL_HTTP_ADDR", "unix:///var/run/consul.sock")]
    [Arguments("CONSUL_HTTP_SSL_VERIFY", "maybe")]
    [Arguments("CONSUL_CACERT", "/nonexistent/ca.pem")]
    public async Task Bad_consul_environment_exits_2_naming_the_variable(string name, string value)
    {
        var (code, _, stderr) = await GatewayProcess.RunAsync(GatewayProcess.JitBinary, [], new Dictionary<string, string> { [name] = value });

        await Assert.That(code).IsEqualTo(2);
        await Assert.That(stderr).Contains(name);
    }

    [Test]
    public async Task Help_exits_0_and_lists_flags_on_stdout()
    {
        var (code, stdout, _) = await GatewayProcess.RunAsync(GatewayProcess.JitBinary, ["-h"]);

        await Assert.That(code).IsEqualTo(0);
        await Assert.That(stdout).StartsWith("Usage of polymur-gateway:");
        await Assert.That(stdout).Contains("POLYMUR_GW_KEY_PREFIX");
    }
}
