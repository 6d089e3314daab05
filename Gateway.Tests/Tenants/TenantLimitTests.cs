using System.Text;
using Polymur.Gateway.Tenants;

namespace Polymur.Gateway.Tests.Tenants;

public class TenantLimitTests
{
    [Test]
    [Arguments("{\"rate\": 5000}", 5000, 5000)]
    [Arguments("{\"rate\": 5000, \"burst\": 20000}", 5000, 20000)]
    [Arguments("{\"rate\": 0.5}", 0.5, 1)]
    [Arguments(" { \"burst\": 10, \"rate\": 2 } \n", 2, 10)]
    [Arguments("{\"rate\": 0}", 0, 0)]
    [Arguments("{\"rate\": 0.001}", 0.001, 1)]
    [Arguments("{\"rate\": 1e9, \"burst\": 1e9}", 1e9, 1e9)]
    public async Task Valid_limits_parse(string json, double rate, double burst)
    {
        await Assert.That(TenantLimit.TryParse(Encoding.UTF8.GetBytes(json), out var limit, out string error)).IsTrue().Because(error);
        await Assert.That(limit).IsEqualTo(new TenantLimit(rate, burst));
    }

    [Test]
    [Arguments("5000")]
    [Arguments("rate=5000")]
    [Arguments("{}")]
    [Arguments("{\"rate\": -1}")]
    [Arguments("{\"rate\": \"5000\"}")]
    [Arguments("{\"rate\": 100, \"burst\": 0}")]
    [Arguments("{\"rate\": 100, \"brust\": 10}")]
    [Arguments("{\"rate\": 1e400}")]
    [Arguments("")]
    [Arguments("null")]
    [Arguments("{\"rate\": 1e-13, \"burst\": 1}")]
    [Arguments("{\"rate\": 1e-300}")]
    [Arguments("{\"rate\": 0.0009}")]
    [Arguments("{\"rate\": 2e9}")]
    [Arguments("{\"rate\": 0.001, \"burst\": 1e308}")]
    [Arguments("{\"rate\": 1, \"burst\": 1e10}")]
    [Arguments("{\"rate\": NaN}")]
    [Arguments("{\"rate\": \"NaN\"}")]
    public async Task Anything_else_is_an_error_with_a_reason(string json)
    {
        await Assert.That(TenantLimit.TryParse(Encoding.UTF8.GetBytes(json), out _, out string error)).IsFalse();
        await Assert.That(error.Length).IsGreaterThan(0);
    }

    [Test]
    public async Task A_value_out_of_range_is_named_with_the_range()
    {
        await Assert.That(TenantLimit.TryParse("{\"rate\": 1e-13}"u8, out var limit, out string error)).IsFalse();
        await Assert.That(error).IsEqualTo($"rate 1E-13 out of range ({TenantLimit.Ranges})");
        await Assert.That(limit).IsEqualTo(TenantLimit.None);
        await Assert.That(TenantLimit.TryParse("{\"rate\": 5, \"burst\": 1e308}"u8, out _, out error)).IsFalse();
        await Assert.That(error).StartsWith("burst 1E+308 out of range");
    }

    [Test]
    public async Task The_tool_writes_what_the_gateway_reads()
    {
        foreach (var limit in new[] { TenantLimit.Of(123.25, 500), TenantLimit.Of(1), TenantLimit.None })
        {
            await Assert.That(TenantLimit.TryParse(Encoding.UTF8.GetBytes(limit.ToJson()), out var back, out _)).IsTrue();
            await Assert.That(back).IsEqualTo(limit);
        }
    }

    [Test]
    public async Task A_cluster_share_divides_rate_and_burst()
    {
        await Assert.That(TenantLimit.Of(1000, 3000).DividedBy(4)).IsEqualTo(new TenantLimit(250, 750));
        await Assert.That(TenantLimit.Of(2, 2).DividedBy(8)).IsEqualTo(new TenantLimit(0.25, 1));
        await Assert.That(TenantLimit.None.DividedBy(3)).IsEqualTo(TenantLimit.None);
    }

    [Test]
    [Arguments("polymur/gateway/keys/", "polymur/gateway/limits/")]
    [Arguments("acme/keys/", "acme/limits/")]
    [Arguments("keys/", "limits/")]
    public async Task The_limits_folder_sits_beside_the_keys_folder(string keys, string limits)
    {
        await Assert.That(ConsulLimitSource.PrefixFor(keys)).IsEqualTo(limits);
    }
}
