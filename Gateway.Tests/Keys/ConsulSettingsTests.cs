using Polymur.Gateway.Configuration;
using Polymur.Gateway.Consul;
using Polymur.Gateway.Keys;

namespace Polymur.Gateway.Tests.Keys;

/// <summary>Consul's conventional environment, read the way the consul CLI reads it.</summary>
public class ConsulSettingsTests
{
    private static ConsulSettings Resolve(Dictionary<string, string> env, GatewayOptions? options = null)
    {
        bool ok = ConsulSettings.TryResolve(options ?? new GatewayOptions(), n => env.GetValueOrDefault(n), out var s, out string error);
        return ok ? s! : throw new InvalidOperationException(error);
    }

    [Test]
    public async Task Defaults_to_the_local_agent_over_http()
    {
        var s = Resolve([]);
        await Assert.That(s.Address.ToString()).IsEqualTo("http://127.0.0.1:8500/");
        await Assert.That(s.Token).IsNull();
        await Assert.That(s.Prefix).IsEqualTo("polymur/gateway/keys/");
        await Assert.That(s.SyncInterval).IsEqualTo(TimeSpan.FromSeconds(30));
    }

    [Test]
    [Arguments("consul.internal:8500", "http://consul.internal:8500/")]
    [Arguments("https://consul.internal:8501", "https://consul.internal:8501/")]
    [Arguments("http://10.0.0.9:8500", "http://10.0.0.9:8500/")]
    public async Task Consul_http_addr_with_and_without_scheme(string addr, string expected)
    {
        await Assert.That(Resolve(new() { ["CONSUL_HTTP_ADDR"] = addr }).Address.ToString()).IsEqualTo(expected);
    }

    [Test]
    public async Task Consul_http_ssl_turns_a_bare_address_into_https_and_the_flag_beats_the_env()
    {
        var ssl = Resolve(new() { ["CONSUL_HTTP_ADDR"] = "c:8501", ["CONSUL_HTTP_SSL"] = "true" });
        var flag = Resolve(new() { ["CONSUL_HTTP_ADDR"] = "c:8501" }, new GatewayOptions { ConsulAddress = "other:8500" });
        await Assert.That(ssl.Address.Scheme).IsEqualTo("https");
        await Assert.That(flag.Address.ToString()).IsEqualTo("http://other:8500/");
    }

    [Test]
    public async Task Token_from_the_env_or_from_a_file()
    {
        string file = Path.GetTempFileName();
        await File.WriteAllTextAsync(file, "secret-from-file\n");
        await Assert.That(Resolve(new() { ["CONSUL_HTTP_TOKEN"] = "t1" }).Token).IsEqualTo("t1");
        await Assert.That(Resolve(new() { ["CONSUL_HTTP_TOKEN_FILE"] = file }).Token).IsEqualTo("secret-from-file");
        await Assert.That(Resolve(new() { ["CONSUL_HTTP_TOKEN"] = "t1", ["CONSUL_HTTP_TOKEN_FILE"] = file }).Token).IsEqualTo("t1");
        await Assert.That(Resolve(new() { ["CONSUL_HTTP_SSL_VERIFY"] = "false" }).VerifyTls).IsFalse();
        File.Delete(file);
    }

    [Test]
    [Arguments("CONSUL_HTTP_TOKEN_FILE", "/nonexistent/token")]
    [Arguments("CONSUL_CLIENT_CERT", "/etc/hostname")]
    [Arguments("CONSUL_HTTP_ADDR", "ftp://consul:21")]
    public async Task Bad_values_are_errors_naming_the_variable(string name, string value)
    {
        bool ok = ConsulSettings.TryResolve(new GatewayOptions(), n => n == name ? value : null, out _, out string error);
        await Assert.That(ok).IsFalse();
        await Assert.That(error).Contains(name);
    }
}
