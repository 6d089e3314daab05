using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Polymur.Gateway.Tests.Ingest;
using Polymur.Gateway.Tests.Keys;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Telemetry;

/// <summary>/stats, /metrics, /healthz and /readyz over real HTTP, with counters checked against what was sent.</summary>
public class StatsEndpointTests
{
    /// <summary>Known traffic: 3 accepted batches (5000 + 2 + 0 lines, 2 invalid), one each of 400, 401, 413.</summary>
    private static async Task SendKnownTrafficAsync(TestGateway gw, TcpSink sink)
    {
        using var client = gw.Client();
        await client.IngestAsync("123", ProxyClient.Lines("m", 5000));
        await client.IngestAsync("123", "good.one 1 1\nbad line\ngood.two 2 2\nnope x 1\n");
        await client.SendAsync("/ingest", "123", ProxyClient.GoEmptyMember);
        await client.SendAsync("/ingest", "123", "not gzip"u8.ToArray());
        await client.PingAsync("wrong");
        await client.SendAsync("/ingest", "123", GzipBomb.Of(64L << 20));
        await Assert.That(await sink.WaitForAsync(5002)).IsTrue();
        // The sink can read the lines a moment before the writer counts them delivered.
        await Assert.That(await Poll.UntilAsync(() => gw.App.Destinations.Current[0].Counters.Delivered >= 5002, TimeSpan.FromSeconds(30))).IsTrue();
    }

    [Test]
    public async Task Stats_json_holds_every_counter_exactly()
    {
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink, o => o with { MaxBatchSize = 1 << 20 });
        await SendKnownTrafficAsync(gw, sink);
        using var stats = gw.StatsClient();

        using var json = JsonDocument.Parse(await stats.GetStringAsync("/stats"));
        var root = json.RootElement;
        var ingest = root.GetProperty("ingest");
        var destination = root.GetProperty("destinations")[0];

        await Assert.That(ingest.GetProperty("batches_accepted").GetInt64()).IsEqualTo(3);
        await Assert.That(ingest.GetProperty("lines_received").GetInt64()).IsEqualTo(5004);
        await Assert.That(ingest.GetProperty("lines_invalid").GetInt64()).IsEqualTo(2);
        await Assert.That(ingest.GetProperty("batches_refused").GetProperty("400").GetInt64()).IsEqualTo(1);
        await Assert.That(ingest.GetProperty("batches_refused").GetProperty("401").GetInt64()).IsEqualTo(1);
        await Assert.That(ingest.GetProperty("batches_refused").GetProperty("413").GetInt64()).IsEqualTo(1);
        await Assert.That(root.GetProperty("points").GetProperty("delivered").GetInt64()).IsEqualTo(5002);
        await Assert.That(root.GetProperty("points").GetProperty("queued").GetInt64()).IsEqualTo(0);
        await Assert.That(destination.GetProperty("name").GetString()).IsEqualTo(sink.Address);
        await Assert.That(destination.GetProperty("dropped").GetProperty("queue_full").GetInt64()).IsEqualTo(0);
        await Assert.That(root.GetProperty("uptime_seconds").GetDouble()).IsGreaterThan(0);
        await Assert.That(root.GetProperty("runtime").GetProperty("working_set_bytes").GetInt64()).IsGreaterThan(1 << 20);
        var buffers = root.GetProperty("buffers");
        await Assert.That(buffers.GetProperty("allocations").GetInt64()).IsGreaterThanOrEqualTo(1); // the batches above needed buffers
        await Assert.That(buffers.GetProperty("retained_bytes").GetInt64()).IsLessThanOrEqualTo(buffers.GetProperty("retained_limit_bytes").GetInt64());
        await Assert.That(buffers.GetProperty("retained_limit_bytes").GetInt64()).IsEqualTo(64L << 20);
        await Assert.That(root.GetProperty("runtime").GetProperty("gc_generation_size_bytes").EnumerateObject().Select(p => p.Name))
            .IsEquivalentTo(["gen0", "gen1", "gen2", "loh", "poh"]);
        await Assert.That(root.GetProperty("keys").GetProperty("source").GetString()).IsEqualTo("dev-mode");
    }

    [Test]
    public async Task Metrics_parse_with_prometheus_own_parser_and_match_the_traffic()
    {
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink, o => o with { MaxBatchSize = 1 << 20 });
        await SendKnownTrafficAsync(gw, sink);
        using var stats = gw.StatsClient();
        var response = await stats.GetAsync("/metrics");
        string text = await response.Content.ReadAsStringAsync();

        var samples = await ParseWithPrometheusClientAsync(text);

        await Assert.That(response.Content.Headers.ContentType!.ToString()).IsEqualTo("text/plain; version=0.0.4; charset=utf-8");
        await Assert.That(samples["polymur_gateway_points_received_total"]).IsEqualTo(5004);
        await Assert.That(samples["polymur_gateway_points_invalid_total{reason=invalid}"]).IsEqualTo(2);
        await Assert.That(samples["polymur_gateway_batches_accepted_total"]).IsEqualTo(3);
        await Assert.That(samples["polymur_gateway_batches_refused_total{status=401}"]).IsEqualTo(1);
        await Assert.That(samples[$"polymur_gateway_points_delivered_total{{destination={sink.Address}}}"]).IsEqualTo(5002);
        await Assert.That(samples[$"polymur_gateway_points_dropped_total{{destination={sink.Address},reason=queue_full}}"]).IsEqualTo(0);
        await Assert.That(samples[$"polymur_gateway_destination_connected{{destination={sink.Address}}}"]).IsEqualTo(1);
        await Assert.That(samples["dotnet_gc_collections_total{generation=0}"]).IsGreaterThanOrEqualTo(0);
        await Assert.That(samples.Keys.Where(k => k.StartsWith("dotnet_gc_generation_size_bytes{", StringComparison.Ordinal)).Order())
            .IsEquivalentTo(["dotnet_gc_generation_size_bytes{generation=gen0}", "dotnet_gc_generation_size_bytes{generation=gen1}",
                "dotnet_gc_generation_size_bytes{generation=gen2}", "dotnet_gc_generation_size_bytes{generation=loh}",
                "dotnet_gc_generation_size_bytes{generation=poh}"]);
        await Assert.That(samples["process_resident_memory_bytes"]).IsGreaterThan(1 << 20);
        await Assert.That(samples["polymur_gateway_buffer_pool_allocations_total"]).IsGreaterThanOrEqualTo(1);
        await Assert.That(text).Contains("# TYPE polymur_gateway_points_received_total counter\n");
        await Assert.That(text).Contains("# TYPE polymur_gateway_points_queued gauge\n");
    }

    [Test]
    public async Task Healthz_answers_and_stats_routes_live_only_on_the_stats_listener()
    {
        await using var gw = await TestGateway.StartAsync([]);
        using var stats = gw.StatsClient();
        using var ingest = new HttpClient { BaseAddress = new Uri(gw.HttpAddress) };

        var health = await stats.GetAsync("/healthz");
        await Assert.That(health.StatusCode).IsEqualTo(HttpStatusCode.OK);
        await Assert.That(await health.Content.ReadAsStringAsync()).IsEqualTo("ok; 1 API keys (dev-mode)\n");
        await Assert.That((await stats.GetAsync("/readyz")).StatusCode).IsEqualTo(HttpStatusCode.OK);
        await Assert.That((await ingest.GetAsync("/metrics")).StatusCode).IsEqualTo(HttpStatusCode.NotFound);
        await Assert.That((await stats.PostAsync("/ingest", null)).StatusCode).IsEqualTo(HttpStatusCode.NotFound);
    }

    [Test]
    public async Task Readyz_waits_for_the_first_key_sync_and_flips_when_consul_comes()
    {
        var consul = await ConsulAgent.StartAsync();
        var settings = consul.Settings();
        await consul.KillAsync();
        await using var gw = await TestGateway.StartAsync([], o => o with { ReadyGrace = TimeSpan.FromMinutes(5) }, consul: settings);
        using var stats = gw.StatsClient();

        var before = await stats.GetAsync("/readyz");
        var health = await stats.GetStringAsync("/healthz");
        await consul.RestartAsync();
        HttpResponseMessage after = before;
        await Poll.UntilAsync(async () => (after = await stats.GetAsync("/readyz")).StatusCode == HttpStatusCode.OK, TimeSpan.FromSeconds(30));

        await Assert.That(before.StatusCode).IsEqualTo(HttpStatusCode.ServiceUnavailable);
        await Assert.That(await before.Content.ReadAsStringAsync()).StartsWith("waiting for the first Consul key sync");
        await Assert.That(health).StartsWith("ok; 0 API keys (consul unreachable: cannot reach");
        await Assert.That(after.StatusCode).IsEqualTo(HttpStatusCode.OK);
        await Assert.That(await after.Content.ReadAsStringAsync()).IsEqualTo("ready: API keys loaded from Consul\n");
        await consul.DisposeAsync();
    }

    [Test]
    public async Task Readyz_says_ready_without_keys_once_the_grace_has_passed()
    {
        var consul = await ConsulAgent.StartAsync();
        var settings = consul.Settings();
        await consul.DisposeAsync();
        await using var gw = await TestGateway.StartAsync([], o => o with { ReadyGrace = TimeSpan.FromMilliseconds(300) }, consul: settings);
        using var stats = gw.StatsClient();

        // Ready once 300 ms have passed: asked until it says so, rather than once after a sleep.
        HttpResponseMessage ready = null!;
        await Poll.UntilAsync(async () => (ready = await stats.GetAsync("/readyz")).StatusCode == HttpStatusCode.OK, TimeSpan.FromSeconds(30));

        await Assert.That(ready.StatusCode).IsEqualTo(HttpStatusCode.OK);
        await Assert.That(await ready.Content.ReadAsStringAsync()).StartsWith("ready without keys");
    }

    /// <summary>Parses exposition text with the official Python client (Debian's python3-prometheus-client).</summary>
    internal static async Task<Dictionary<string, double>> ParseWithPrometheusClientAsync(string text)
    {
        const string script = """
            import sys
            from prometheus_client.parser import text_string_to_metric_families
            for family in text_string_to_metric_families(sys.stdin.read()):
                for s in family.samples:
                    labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
                    print(s.name + ("{" + labels + "}" if labels else "") + "\t" + repr(float(s.value)))
            """;
        var info = new ProcessStartInfo("/usr/bin/python3", ["-c", script])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var python = Process.Start(info)!;
        await python.StandardInput.WriteAsync(text);
        python.StandardInput.Close();
        string output = await python.StandardOutput.ReadToEndAsync();
        string errors = await python.StandardError.ReadToEndAsync();
        await python.WaitForExitAsync();
        if (python.ExitCode != 0)
            throw new InvalidOperationException("prometheus_client could not parse /metrics: " + errors);
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split('\t'))
            .ToDictionary(p => p[0], p => double.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture));
    }
}
