using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using static BenchParts;

/// <summary>
/// The tenant figures of BENCHMARKS.md. <c>scale</c>: N keys and N limits in Consul; how long the gateway takes
/// to read them and to apply one change, what /metrics weighs and costs to render, and the memory per tenant
/// (against the same gateway with one key). <c>fairness</c>: a polite tenant's latency alone, then beside a
/// tenant flooding from 8 connections.
/// </summary>
internal static class TenantBench
{
    public static async Task<int> ScaleAsync(string binary, string consulBinary, int tenants)
    {
        int consulPort = FreePort();
        using var consul = StartConsul(consulBinary, consulPort);
        var kv = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{consulPort}/") };
        await WaitAsync(async () => (await kv.GetStringAsync("v1/status/leader")).Contains(':'));

        var one = await RunGatewayAsync(binary, consulPort, expectKeys: 1, setup: () => PutAsync(kv, [("polymur/gateway/keys/t0", NewKey())]));
        var writes = new List<(string, string)>();
        for (int i = 1; i < tenants; i++)
            writes.Add(($"polymur/gateway/keys/t{i}", NewKey()));
        for (int i = 0; i < tenants; i++)
            writes.Add(($"polymur/gateway/limits/t{i}", $"{{\"rate\": {1000 + i}}}"));
        var many = await RunGatewayAsync(binary, consulPort, expectKeys: tenants, setup: () => PutAsync(kv, writes), measureChange: kv);

        double perTenant = (many.RssKiB - one.RssKiB) * 1024.0 / (tenants - 1);
        double heapPerTenant = (many.HeapBytes - one.HeapBytes) / (double)(tenants - 1);
        Console.WriteLine($"tenants: {tenants} keys and {tenants} limits in Consul");
        Console.WriteLine($"startup to every key and limit applied: {many.SyncSeconds:0.000} s (1 key: {one.SyncSeconds:0.000} s)");
        Console.WriteLine($"one new key usable after:     {many.KeyChangeMs:0} ms");
        Console.WriteLine($"one limit change applied after: {many.LimitChangeMs:0} ms");
        Console.WriteLine($"/metrics: {many.MetricsBytes / 1024.0 / 1024.0:0.00} MiB, {many.MetricsLines} lines, render+fetch {many.MetricsMs:0} ms (median of 5); with 1 tenant {one.MetricsBytes / 1024.0:0.0} KiB, {one.MetricsMs:0.0} ms");
        Console.WriteLine($"/tenants: {many.TenantsBytes / 1024.0 / 1024.0:0.00} MiB, {many.TenantsMs:0} ms");
        Console.WriteLine($"RSS: {one.RssKiB / 1024.0:0.0} MiB with 1 tenant, {many.RssKiB / 1024.0:0.0} MiB with {tenants}: {perTenant:0} bytes per tenant ({heapPerTenant:0} of them GC heap), peak {many.PeakKiB / 1024.0:0.0} MiB after rendering /metrics and /tenants");
        consul.Kill();
        return 0;
    }

    private sealed record ScaleRun(double SyncSeconds, long RssKiB, long PeakKiB, long HeapBytes, long MetricsBytes, int MetricsLines, double MetricsMs, long TenantsBytes, double TenantsMs, double KeyChangeMs, double LimitChangeMs);

    private static async Task<ScaleRun> RunGatewayAsync(string binary, int consulPort, int expectKeys, Func<Task> setup, HttpClient? measureChange = null)
    {
        await setup();
        int httpPort = FreePort(), statPort = FreePort(), apiPort = FreePort();
        var clock = Stopwatch.StartNew();
        using var gateway = Process.Start(new ProcessStartInfo("taskset", ["-c", "0", binary,
            "-listen-addr", "127.0.0.1", "-listen-http-port", httpPort.ToString(), "-api-addr", $"127.0.0.1:{apiPort}",
            "-stat-addr", $"127.0.0.1:{statPort}", "-destinations", "127.0.0.1:1", "-summary-interval", "0"])
        { Environment = { ["CONSUL_HTTP_ADDR"] = $"127.0.0.1:{consulPort}" }, RedirectStandardError = true })!;
        _ = gateway.StandardError.ReadToEndAsync();
        var stats = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{statPort}/") };
        var api = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{apiPort}/") };
        // Every key valid and every tenant's limit from Consul: the sum of the enforced rates is known.
        await WaitAsync(async () => (await stats.GetStringAsync("metrics")).Contains($"polymur_gateway_api_keys {expectKeys}\n"), TimeSpan.FromSeconds(120));
        if (expectKeys > 1)
            await WaitAsync(async () => CountConsulLimits(await api.GetStringAsync("tenants")) == expectKeys, TimeSpan.FromSeconds(120));
        double sync = clock.Elapsed.TotalSeconds;
        await Task.Delay(3000); // a few ticks, so RSS settles; measured before any large answer is rendered
        long rss = long.Parse(File.ReadAllLines($"/proc/{gateway.Id}/status").First(l => l.StartsWith("VmRSS:")).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
        long heap = JsonDocument.Parse(await stats.GetStringAsync("stats")).RootElement.GetProperty("runtime").GetProperty("gc_heap_size_bytes").GetInt64();
        long syncPeak = Hwm(gateway.Id);

        var times = new List<double>();
        string metrics = "";
        for (int i = 0; i < 5; i++)
        {
            var t = Stopwatch.StartNew();
            metrics = await stats.GetStringAsync("metrics");
            times.Add(t.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        long metricsPeak = Hwm(gateway.Id);
        var tt = Stopwatch.StartNew();
        string tenantsJson = await api.GetStringAsync("tenants");
        double tenantsMs = tt.Elapsed.TotalMilliseconds;
        long peak = Hwm(gateway.Id);
        Console.WriteLine($"  ({expectKeys} tenants) peak RSS: {syncPeak / 1024.0:0.0} MiB after the sync and /stats, {metricsPeak / 1024.0:0.0} after 5 /metrics, {peak / 1024.0:0.0} after /tenants");

        double keyMs = 0, limitMs = 0;
        if (measureChange is { } kv)
        {
            var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}/") };
            string key = NewKey();
            var k = Stopwatch.StartNew();
            await PutAsync(kv, [("polymur/gateway/keys/newcomer", key)]);
            await WaitAsync(async () => (await http.SendAsync(new HttpRequestMessage(HttpMethod.Post, "ping") { Headers = { { "X-Polymur-Key", key } } })).IsSuccessStatusCode);
            keyMs = k.Elapsed.TotalMilliseconds;
            var l = Stopwatch.StartNew();
            await PutAsync(kv, [("polymur/gateway/limits/t7", "{\"rate\": 77}")]);
            await WaitAsync(async () => (await api.GetStringAsync("tenants/t7")).Contains("\"enforced_rate\": 77"));
            limitMs = l.Elapsed.TotalMilliseconds;
        }
        gateway.Kill();
        await gateway.WaitForExitAsync();
        return new ScaleRun(sync, rss, peak, heap, Encoding.UTF8.GetByteCount(metrics), metrics.Count(c => c == '\n'), times[2], tenantsJson.Length, tenantsMs, keyMs, limitMs);
    }

    private static long Hwm(int pid) =>
        long.Parse(File.ReadAllLines($"/proc/{pid}/status").First(l => l.StartsWith("VmHWM:")).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);

    private static int CountConsulLimits(string tenantsJson) =>
        JsonDocument.Parse(tenantsJson).RootElement.EnumerateArray().Count(t => t.GetProperty("limit").GetProperty("source").GetString() == "consul");

    // Consul's transactions take 64 operations at most (1.8).
    private static async Task PutAsync(HttpClient kv, List<(string Key, string Value)> writes)
    {
        foreach (var chunk in writes.Chunk(64))
        {
            var ops = chunk.Select(w => new Dictionary<string, object> { ["KV"] = new Dictionary<string, string> { ["Verb"] = "set", ["Key"] = w.Key, ["Value"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(w.Value)) } }).ToArray();
            (await kv.PutAsync("v1/txn", new StringContent(JsonSerializer.Serialize(ops), Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode();
        }
    }

    public static async Task<int> FairnessAsync(string binary, string consulBinary, double seconds, string[] flags)
    {
        int consulPort = FreePort();
        using var consul = StartConsul(consulBinary, consulPort);
        var kv = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{consulPort}/") };
        await WaitAsync(async () => (await kv.GetStringAsync("v1/status/leader")).Contains(':'));
        string polite = NewKey(), flood = NewKey();
        await PutAsync(kv, [("polymur/gateway/keys/polite", polite), ("polymur/gateway/keys/flood", flood)]);
        var sink = new CountingSink(FreePort());
        sink.Start();
        int httpPort = FreePort(), statPort = FreePort();
        using var gateway = Process.Start(new ProcessStartInfo("taskset", ["-c", "0", binary,
            "-listen-addr", "127.0.0.1", "-listen-http-port", httpPort.ToString(), "-api-addr", "127.0.0.1:0",
            "-stat-addr", $"127.0.0.1:{statPort}", "-destinations", $"127.0.0.1:{sink.Port}", "-summary-interval", "0",
            .. flags])
        { Environment = { ["CONSUL_HTTP_ADDR"] = $"127.0.0.1:{consulPort}" }, RedirectStandardError = true })!;
        _ = gateway.StandardError.ReadToEndAsync();
        var stats = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{statPort}/") };
        await WaitAsync(async () => (await stats.GetStringAsync("metrics")).Contains("polymur_gateway_api_keys 2\n"));

        byte[] batch = Batch("fair", 5000);
        var url = new Uri($"http://127.0.0.1:{httpPort}/ingest");
        var (aloneP50, aloneP99, alone503) = await PoliteAsync(url, polite, batch, seconds, CancellationToken.None);
        using var stopFlood = new CancellationTokenSource();
        long flooded = 0;
        var floodRefused = new System.Collections.Concurrent.ConcurrentDictionary<int, long>();
        var flooders = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            using var client = new HttpClient();
            while (!stopFlood.IsCancellationRequested)
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(batch), Headers = { { "X-Polymur-Key", flood } } };
                try
                {
                    using var response = await client.SendAsync(request, stopFlood.Token);
                    if ((int)response.StatusCode == 200) Interlocked.Increment(ref flooded); else floodRefused.AddOrUpdate((int)response.StatusCode, 1, (_, n) => n + 1);
                }
                catch (OperationCanceledException) { }
            }
        })).ToArray();
        await Task.Delay(1000);
        var (floodP50, floodP99, flood503Polite) = await PoliteAsync(url, polite, batch, seconds, CancellationToken.None);
        stopFlood.Cancel();
        await Task.WhenAll(flooders);
        Console.WriteLine($"fairness, {(flags.Length == 0 ? "default flags" : string.Join(' ', flags))}, 5000-line batches, gateway on one core:");
        Console.WriteLine($"  polite alone:        p50 {aloneP50:0.0} ms, p99 {aloneP99:0.0} ms, {alone503} refused");
        Console.WriteLine($"  polite beside flood: p50 {floodP50:0.0} ms, p99 {floodP99:0.0} ms, {flood503Polite} refused; p99 ratio {floodP99 / aloneP99:0.00}x");
        Console.WriteLine($"  flood (8 connections): {flooded} batches accepted, refused: {(floodRefused.IsEmpty ? "none" : string.Join(", ", floodRefused.OrderBy(r => r.Key).Select(r => $"{r.Value} with {r.Key}")))}");
        gateway.Kill();
        consul.Kill();
        return 0;
    }

    // One batch at a time, for SECONDS: the latency a well-behaved proxy sees.
    private static async Task<(double P50, double P99, int Refused)> PoliteAsync(Uri url, string key, byte[] batch, double seconds, CancellationToken cancel)
    {
        using var client = new HttpClient();
        var latencies = new List<double>();
        int refused = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed.TotalSeconds < seconds)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(batch), Headers = { { "X-Polymur-Key", key } } };
            var t = Stopwatch.StartNew();
            using var response = await client.SendAsync(request, cancel);
            latencies.Add(t.Elapsed.TotalMilliseconds);
            if ((int)response.StatusCode != 200)
                refused++;
            await Task.Delay(20, cancel); // a proxy flushes on a timer, not back to back
        }
        latencies.Sort();
        return (latencies[latencies.Count / 2], latencies[(int)(latencies.Count * 0.99)], refused);
    }
}
