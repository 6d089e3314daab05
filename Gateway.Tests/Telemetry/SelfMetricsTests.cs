using Polymur.Gateway.Keys;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Telemetry;

/// <summary>-metrics-flush lines arriving at a real sink, with their exact names, never key-prefixed.</summary>
public class SelfMetricsTests
{
    [Test]
    public async Task Flushed_series_arrive_with_the_exact_names_and_counts()
    {
        await using var sink = TcpSink.Start();
        var keys = new StaticKeyCache(KeySnapshot.From([("tenant", "tenant-key-123456789")]));
        await using var gw = await TestGateway.StartAsync(sink, o => o with { MetricsFlushSeconds = 1, KeyPrefix = true }, keys);
        using var client = gw.Client();
        await client.IngestAsync("tenant-key-123456789", "app.requests 10 1700000000\nbroken\n");
        await client.PingAsync("wrong");

        // Wait for a flush that saw all of it: the 401 of the ping, which was sent after the batch had its answer
        // (a flush can fall between the two, with the batch counted and the ping not yet).
        string root = "test-host_example_com.polymur.";
        List<string> flush = [];
        // A flush is one run of lines from "rate" to "runtime.threads"; the sink may be part way through reading
        // it, so wait for its last line too (its stamp alone could be shared by two flushes a moment apart).
        await Poll.UntilAsync(() =>
        {
            var lines = sink.Lines.Where(l => l.StartsWith(root, StringComparison.Ordinal)).ToList();
            int seen = lines.FindLastIndex(l => l.StartsWith(root + "batches.refused.401 ", StringComparison.Ordinal));
            if (seen < 0 || lines[seen].Split(' ')[1] != "1")
                return false;
            int start = lines.FindLastIndex(seen, l => l.StartsWith(root + "rate ", StringComparison.Ordinal));
            int end = lines.FindIndex(seen, l => l.StartsWith(root + "runtime.threads ", StringComparison.Ordinal));
            if (start < 0 || end < 0)
                return false;
            flush = lines[start..(end + 1)];
            return true;
        }, TimeSpan.FromSeconds(30));

        string dest = sink.Address.Replace('.', '_');
        string[] expectedNames =
        [
            "rate", "incoming-queue.current-size", "incoming-queue.limit",
            $"outgoing-queue.{dest}.current-size", $"outgoing-queue.{dest}.limit", $"outgoing-queue.{dest}.delivered",
            $"outgoing-queue.{dest}.dropped.queue_full", $"outgoing-queue.{dest}.dropped.shutdown_timeout", $"outgoing-queue.{dest}.dropped.destination_removed",
            $"outgoing-queue.{dest}.dropped.spool_full", $"outgoing-queue.{dest}.dropped.spool_corrupt",
            $"outgoing-queue.{dest}.spool.pending", $"outgoing-queue.{dest}.spool.bytes", $"outgoing-queue.{dest}.spool.oldest-age-seconds",
            "points.received", "points.invalid", "points.too-long", "points.delivered",
            "points.dropped.queue_full", "points.dropped.shutdown_timeout", "points.dropped.destination_removed",
            "points.dropped.spool_full", "points.dropped.spool_corrupt", "points.queued",
            "batches.accepted", "batches.refused.400", "batches.refused.401", "batches.refused.408", "batches.refused.413", "batches.refused.429", "batches.refused.503",
            "tenants.tenant.batches.accepted", "tenants.tenant.points.accepted", "tenants.tenant.points.invalid", "tenants.tenant.points.too-long",
            "tenants.tenant.points-per-second", "tenants.tenant.bytes.compressed", "tenants.tenant.bytes.decompressed",
            "tenants.tenant.batches.refused.400", "tenants.tenant.batches.refused.408", "tenants.tenant.batches.refused.413",
            "tenants.tenant.batches.refused.429", "tenants.tenant.batches.refused.503", "tenants.tenant.inflight",
            "runtime.memory.working-set-bytes", "runtime.memory.gc-heap-size-bytes", "runtime.memory.gc-committed-bytes",
            "runtime.memory.gc-generation-size-bytes.gen0", "runtime.memory.gc-generation-size-bytes.gen1",
            "runtime.memory.gc-generation-size-bytes.gen2", "runtime.memory.gc-generation-size-bytes.loh",
            "runtime.memory.gc-generation-size-bytes.poh",
            "runtime.memory.allocated-bytes-total", "runtime.buffer-pool.retained-bytes", "runtime.buffer-pool.allocations",
            "runtime.gc.gen0-collections", "runtime.gc.gen1-collections",
            "runtime.gc.gen2-collections", "runtime.gc.pause-seconds-total", "runtime.cpu-seconds-total", "runtime.threads",
        ];
        var byName = flush.ToDictionary(l => l.Split(' ')[0][root.Length..], l => l.Split(' ')[1]);

        await Assert.That(flush.Count).IsEqualTo(expectedNames.Length);
        await Assert.That(byName.Keys.SequenceEqual(expectedNames)).IsTrue();
        await Assert.That(byName["points.received"]).IsEqualTo("2");
        await Assert.That(byName["points.invalid"]).IsEqualTo("1");
        await Assert.That(byName["batches.accepted"]).IsEqualTo("1");
        await Assert.That(byName["batches.refused.401"]).IsEqualTo("1");
        await Assert.That(byName["tenants.tenant.points.accepted"]).IsEqualTo("1");
        await Assert.That(byName["tenants.tenant.points.invalid"]).IsEqualTo("1");
        await Assert.That(byName["tenants.tenant.batches.accepted"]).IsEqualTo("1");
        await Assert.That(byName["incoming-queue.limit"]).IsEqualTo("32768");
        await Assert.That(byName[$"outgoing-queue.{dest}.limit"]).IsEqualTo("4096");
        // User lines carry the key prefix; the gateway's own never do.
        await Assert.That(sink.Lines).Contains("tenant.app.requests 10 1700000000");
        await Assert.That(sink.Lines.Any(l => l.StartsWith("tenant." + root, StringComparison.Ordinal))).IsFalse();
        await Assert.That(gw.App.Counters.SelfMetricLines).IsGreaterThanOrEqualTo(expectedNames.Length);
    }

    [Test]
    [Arguments("web01.prod.example.com", "web01_prod_example_com")]
    [Arguments("host with spaces", "host_with_spaces")]
    [Arguments("", "unknown")]
    public async Task Host_names_become_one_path_node(string host, string expected)
    {
        await Assert.That(Polymur.Gateway.Telemetry.SelfMetrics.SanitizeHost(host)).IsEqualTo(expected);
    }

    [Test]
    public async Task The_summary_line_reports_received_delivered_and_busy_queues()
    {
        await using var sink = TcpSink.Start();
        var down = TcpSink.Start();
        await down.DisposeAsync();
        await using var gw = await TestGateway.StartAsync([sink, down], o => o with { SummaryInterval = TimeSpan.FromMilliseconds(300), OutgoingQueueCap = 100_000 });
        using var client = gw.Client();
        await client.IngestAsync("123", ProxyClient.Lines("s", 1000));
        await sink.WaitForAsync(1000);

        string? summary = null;
        // A tick can fall between the sink reading the lines and the writer counting them delivered: wait for
        // the first tick that has both, rather than take the last line at some moment.
        await Poll.UntilAsync(() => (summary = gw.Logs.Lines.LastOrDefault(l => l.Contains("Summary: 1000 points received") && l.Contains(" 1000 delivered"))) is not null, TimeSpan.FromSeconds(30));

        await Assert.That(summary).IsNotNull();
        await Assert.That(summary!).Contains("1000 delivered, 0 dropped, 0 invalid; queued: " + $"127.0.0.1:{down.Port}=1000");
    }
}
