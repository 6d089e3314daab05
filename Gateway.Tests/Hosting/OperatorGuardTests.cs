using System.Net;
using System.Text;
using Polymur.Gateway.Configuration;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Hosting;

/// <summary>
/// The admin API against what a web page in a local browser, DNS rebinding, or another local user can send,
/// over real HTTP. Each refused request would have added a destination (201) before.
/// </summary>
public class OperatorGuardTests
{
    private const string Token = "0123456789abcdef0123456789abcdef";

    private static HttpRequestMessage Add(string address, string contentType = "application/json", string? host = null, string? origin = null, string? bearer = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/destinations")
        {
            Content = new StringContent($"{{\"address\":\"{address}\"}}", Encoding.UTF8, contentType),
        };
        if (host is not null)
            request.Headers.Host = host;
        if (origin is not null)
            request.Headers.TryAddWithoutValidation("Origin", origin);
        if (bearer is not null)
            request.Headers.TryAddWithoutValidation("Authorization", $"Bearer {bearer}");
        return request;
    }

    [Test]
    public async Task A_plain_text_post_like_a_cross_site_form_is_415()
    {
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink);
        using var admin = gw.AdminClient();

        var response = await admin.SendAsync(Add("127.0.0.1:9", contentType: "text/plain"));

        await Assert.That(response.StatusCode).IsEqualTo(HttpStatusCode.UnsupportedMediaType);
        await Assert.That(await response.Content.ReadAsStringAsync()).Contains("application/json");
        await Assert.That(gw.App.Destinations.Current.Length).IsEqualTo(1);
    }

    [Test]
    [Arguments("evil.example:2030")]
    [Arguments("evil.example")]
    [Arguments("10.1.2.3:2030")]
    public async Task A_foreign_host_as_dns_rebinding_sends_it_is_403_for_writes_and_reads(string host)
    {
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink);
        using var admin = gw.AdminClient();

        var add = await admin.SendAsync(Add("127.0.0.1:9", host: host));
        using var list = new HttpRequestMessage(HttpMethod.Get, "/destinations");
        list.Headers.Host = host;
        var read = await admin.SendAsync(list);

        await Assert.That(add.StatusCode).IsEqualTo(HttpStatusCode.Forbidden);
        await Assert.That(read.StatusCode).IsEqualTo(HttpStatusCode.Forbidden);
        await Assert.That(gw.App.Destinations.Current.Length).IsEqualTo(1);
    }

    [Test]
    public async Task A_cross_origin_request_is_403_and_a_same_origin_one_passes()
    {
        await using var sink = TcpSink.Start();
        await using var other = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink);
        using var admin = gw.AdminClient();
        string own = gw.App.AdminAddress;

        var foreign = await admin.SendAsync(Add(other.Address, origin: "http://evil.example"));
        var opaque = await admin.SendAsync(Add(other.Address, origin: "null"));
        var same = await admin.SendAsync(Add(other.Address, origin: own));

        await Assert.That(foreign.StatusCode).IsEqualTo(HttpStatusCode.Forbidden);
        await Assert.That(opaque.StatusCode).IsEqualTo(HttpStatusCode.Forbidden);
        await Assert.That(same.StatusCode).IsEqualTo(HttpStatusCode.Created);
    }

    [Test]
    public async Task Loopback_names_and_the_listeners_own_address_are_accepted_hosts()
    {
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink);
        using var admin = gw.AdminClient();
        int port = new Uri(gw.App.AdminAddress).Port;

        foreach (string host in new[] { $"localhost:{port}", "LOCALHOST", $"127.0.0.1:{port}", $"127.0.0.2:{port}" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/destinations");
            request.Headers.Host = host;
            await Assert.That((await admin.SendAsync(request)).StatusCode).IsEqualTo(HttpStatusCode.OK);
        }
    }

    [Test]
    public async Task A_delete_may_omit_the_content_type_but_not_name_another()
    {
        await using var keep = TcpSink.Start();
        await using var gone = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync([keep, gone]);
        using var admin = gw.AdminClient();

        using var typed = new HttpRequestMessage(HttpMethod.Delete, $"/destinations/{gone.Address}") { Content = new StringContent("", Encoding.UTF8, "text/plain") };
        var refused = await admin.SendAsync(typed);
        var removed = await admin.DeleteAsync($"/destinations/{gone.Address}");

        await Assert.That(refused.StatusCode).IsEqualTo(HttpStatusCode.UnsupportedMediaType);
        await Assert.That(removed.StatusCode).IsEqualTo(HttpStatusCode.OK);
    }

    [Test]
    public async Task With_a_token_every_admin_request_needs_it_and_it_is_never_logged()
    {
        await using var sink = TcpSink.Start();
        await using var other = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink, o => o with { ApiToken = SecretToken.FromText(Token) });
        using var admin = gw.AdminClient();

        var none = await admin.GetAsync("/destinations");
        var wrong = await admin.SendAsync(Add(other.Address, bearer: Token[..^1] + "0"));
        // A valid token also vouches for a Host name the operator uses (a page cannot know the token).
        var right = await admin.SendAsync(Add(other.Address, bearer: Token, host: "gateway.internal:2030"));

        await Assert.That(none.StatusCode).IsEqualTo(HttpStatusCode.Unauthorized);
        await Assert.That(none.Headers.WwwAuthenticate.ToString()).IsEqualTo("Bearer");
        await Assert.That(wrong.StatusCode).IsEqualTo(HttpStatusCode.Unauthorized);
        await Assert.That(right.StatusCode).IsEqualTo(HttpStatusCode.Created);
        await Assert.That(gw.Logs.All).DoesNotContain(Token[..8]);
    }

    [Test]
    public async Task Api_token_stats_guards_stats_and_metrics_but_not_the_probes()
    {
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink, o => o with { ApiToken = SecretToken.FromText(Token), ApiTokenStats = true });
        using var stats = gw.StatsClient();

        await Assert.That((await stats.GetAsync("/stats")).StatusCode).IsEqualTo(HttpStatusCode.Unauthorized);
        await Assert.That((await stats.GetAsync("/metrics")).StatusCode).IsEqualTo(HttpStatusCode.Unauthorized);
        await Assert.That((await stats.GetAsync("/healthz")).StatusCode).IsEqualTo(HttpStatusCode.OK);
        await Assert.That((await stats.GetAsync("/readyz")).StatusCode).IsEqualTo(HttpStatusCode.OK);
        stats.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", $"Bearer {Token}");
        await Assert.That((await stats.GetAsync("/metrics")).StatusCode).IsEqualTo(HttpStatusCode.OK);
    }

    [Test]
    public async Task Without_api_token_stats_the_stats_stay_open_to_a_token_less_scraper()
    {
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink, o => o with { ApiToken = SecretToken.FromText(Token) });
        using var stats = gw.StatsClient();

        await Assert.That((await stats.GetAsync("/metrics")).StatusCode).IsEqualTo(HttpStatusCode.OK);
    }
}
