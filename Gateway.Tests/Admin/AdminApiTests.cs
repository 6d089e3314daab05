using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Polymur.Gateway.Outputs;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Admin;

/// <summary>The destinations API over real HTTP on its own listener.</summary>
public class AdminApiTests
{
    [Test]
    public async Task List_shows_each_destination_with_its_state_and_counters()
    {
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink);
        using var client = gw.Client();
        await client.IngestAsync("123", ProxyClient.Lines("m", 100));
        await Assert.That(await sink.WaitForAsync(100)).IsTrue();
        // The sink can read the lines a moment before the writer's send completes and counts them.
        await Assert.That(await Poll.UntilAsync(() => gw.App.Destinations.Current[0].Counters.Delivered >= 100, TimeSpan.FromSeconds(30))).IsTrue();
        using var admin = gw.AdminClient();

        var response = await admin.GetAsync("/destinations");
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var first = json.RootElement[0];

        await Assert.That(response.StatusCode).IsEqualTo(HttpStatusCode.OK);
        await Assert.That(json.RootElement.GetArrayLength()).IsEqualTo(1);
        await Assert.That(first.GetProperty("name").GetString()).IsEqualTo(sink.Address);
        await Assert.That(first.GetProperty("connected").GetBoolean()).IsTrue();
        await Assert.That(first.GetProperty("delivered").GetInt64()).IsEqualTo(100);
        await Assert.That(first.GetProperty("queued_points").GetInt64()).IsEqualTo(0);
        await Assert.That(first.GetProperty("dropped").GetProperty("queue_full").GetInt64()).IsEqualTo(0);
    }

    [Test]
    public async Task Add_then_lines_flow_to_the_new_destination_and_a_second_add_is_409()
    {
        await using var first = TcpSink.Start();
        await using var added = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(first);
        using var admin = gw.AdminClient();
        using var client = gw.Client();

        var create = await admin.PostAsync("/destinations", Json(new { address = added.Address }));
        var again = await admin.PostAsync("/destinations", Json(new { address = added.Address }));
        await client.IngestAsync("123", ProxyClient.Lines("after.add", 500));

        await Assert.That(create.StatusCode).IsEqualTo(HttpStatusCode.Created);
        await Assert.That(again.StatusCode).IsEqualTo(HttpStatusCode.Conflict);
        await Assert.That(await again.Content.ReadAsStringAsync()).Contains($"destination {added.Address} already exists");
        await Assert.That(gw.App.Destinations.Current.Length).IsEqualTo(2);
        await Assert.That(await added.WaitForAsync(500)).IsTrue();
        await Assert.That(await first.WaitForAsync(500)).IsTrue();
    }

    [Test]
    public async Task Remove_drains_what_is_queued_and_stops_routing_to_it()
    {
        await using var keep = TcpSink.Start();
        await using var gone = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync([keep, gone]);
        using var admin = gw.AdminClient();
        using var client = gw.Client();
        await client.IngestAsync("123", ProxyClient.Lines("before", 1000));

        var delete = await admin.DeleteAsync($"/destinations/{gone.Address}");
        await client.IngestAsync("123", ProxyClient.Lines("after", 1000));
        var missing = await admin.DeleteAsync($"/destinations/{gone.Address}");

        await Assert.That(delete.StatusCode).IsEqualTo(HttpStatusCode.OK);
        using var removed = JsonDocument.Parse(await delete.Content.ReadAsStringAsync());
        await Assert.That(removed.RootElement.GetProperty("delivered").GetInt64()).IsEqualTo(1000);
        await Assert.That(missing.StatusCode).IsEqualTo(HttpStatusCode.NotFound);
        await Assert.That(await keep.WaitForAsync(2000)).IsTrue();
        await Assert.That(await gone.WaitForAsync(1000)).IsTrue();
        await Assert.That((await gone.SettleAsync()).Count).IsEqualTo(1000);
        await Assert.That(gw.App.Destinations.Current.Length).IsEqualTo(1);
    }

    [Test]
    public async Task Removing_a_dead_destination_counts_its_queue_as_destination_removed()
    {
        var dead = TcpSink.Start();
        await dead.DisposeAsync();
        await using var gw = await TestGateway.StartAsync(dead, o => o with { DrainTimeout = TimeSpan.FromMilliseconds(300), OutgoingQueueCap = 100_000 });
        using var client = gw.Client();
        await client.IngestAsync("123", ProxyClient.Lines("stuck", 700));
        using var admin = gw.AdminClient();

        var delete = await admin.DeleteAsync($"/destinations/127.0.0.1:{dead.Port}");

        using var removed = JsonDocument.Parse(await delete.Content.ReadAsStringAsync());
        await Assert.That(removed.RootElement.GetProperty("dropped").GetProperty("destination_removed").GetInt64()).IsEqualTo(700);
        await Assert.That(removed.RootElement.GetProperty("queued_points").GetInt64()).IsEqualTo(0);
        await Assert.That(gw.App.Inflight.Count).IsEqualTo(0);
    }

    [Test]
    [Arguments("", "send a JSON body")]
    [Arguments("{", "not valid JSON")]
    [Arguments("{}", "missing address")]
    [Arguments("{\"address\":\"nohost\"}", "is not host:port")]
    [Arguments("{\"address\":\"10.0.0.1:99999\"}", "no valid port")]
    public async Task Bad_requests_are_400_with_a_reason(string body, string reason)
    {
        await using var gw = await TestGateway.StartAsync([]);
        using var admin = gw.AdminClient();

        var response = await admin.PostAsync("/destinations", new StringContent(body, Encoding.UTF8, "application/json"));

        await Assert.That(response.StatusCode).IsEqualTo(HttpStatusCode.BadRequest);
        await Assert.That(await response.Content.ReadAsStringAsync()).Contains(reason);
    }

    [Test]
    public async Task Admin_routes_are_not_on_the_ingest_port_and_ingest_is_not_on_the_admin_port()
    {
        await using var gw = await TestGateway.StartAsync([]);
        using var admin = gw.AdminClient();
        using var ingest = new HttpClient { BaseAddress = new Uri(gw.HttpAddress) };

        await Assert.That((await ingest.GetAsync("/destinations")).StatusCode).IsEqualTo(HttpStatusCode.NotFound);
        await Assert.That((await admin.PostAsync("/ping", null)).StatusCode).IsEqualTo(HttpStatusCode.NotFound);
        await Assert.That((await admin.GetAsync("/destinations")).StatusCode).IsEqualTo(HttpStatusCode.OK);
    }

    [Test]
    public async Task Adding_to_a_hash_route_gateway_rebuilds_the_ring()
    {
        await using var a = TcpSink.Start();
        await using var b = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(a, o => o with { Distribution = Polymur.Gateway.Configuration.Distribution.JumpFnv1aCh });
        using var admin = gw.AdminClient();
        using var client = gw.Client();

        await admin.PostAsync("/destinations", Json(new { address = b.Address }));
        await client.IngestAsync("123", ProxyClient.Lines("spread", 2000));

        await Assert.That(await a.WaitForAsync(1)).IsTrue();
        await Assert.That(await b.WaitForAsync(1)).IsTrue();
        // All of them first (each sink's writer keeps its own pace), then nothing more.
        await Assert.That(await Poll.UntilAsync(() => a.Count + b.Count >= 2000, TimeSpan.FromSeconds(30))).IsTrue();
        await Assert.That((await a.SettleAsync()).Count + (await b.SettleAsync()).Count).IsEqualTo(2000);
    }

    private static StringContent Json(object value) =>
        new(JsonSerializer.Serialize(value), Encoding.UTF8, "application/json");
}
