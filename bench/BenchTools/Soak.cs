using System.Diagnostics;
using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using static BenchParts;

/// <summary>
/// make soak: the published gateway (pinned to CPU 0) under steady load at a fixed rate for N minutes, with one
/// destination flapping every minute (30 s down, 30 s up) and the API key regenerated in a real Consul every
/// 2 minutes. Samples RSS, threads and open files every 5 s, then checks the accounting identity. With a spool
/// directory, the down destination's share goes to disk and is replayed: nothing may be dropped, and the
/// flapping sink must end with every point (duplicates from resends allowed). Replay runs at up to twice the load,
/// so each 30-second outage drains within the next 30 seconds up.
/// </summary>
internal static class Soak
{
    public static async Task<int> RunAsync(string binary, string consulBinary, double minutes, long pointsPerSecond, string? spoolDir = null)
    {
        var duration = TimeSpan.FromMinutes(minutes);
        int consulPort = FreePort(), httpPort = FreePort(), statPort = FreePort();
        using var consul = StartConsul(consulBinary, consulPort);
        var kv = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{consulPort}/") };
        await WaitAsync(async () => (await kv.GetStringAsync("v1/status/leader")).Contains(':'));
        string key = NewKey();
        (await kv.PutAsync("v1/kv/polymur/gateway/keys/soak", new StringContent(key))).EnsureSuccessStatusCode();

        var steady = new CountingSink(FreePort());
        var flappy = new CountingSink(FreePort());
        steady.Start();
        flappy.Start();
        var gateway = Process.Start(new ProcessStartInfo("taskset", ["-c", "0", binary,
            "-listen-addr", "127.0.0.1", "-listen-http-port", httpPort.ToString(), "-api-addr", "127.0.0.1:0",
            "-stat-addr", $"127.0.0.1:{statPort}", "-destinations", $"127.0.0.1:{steady.Port},127.0.0.1:{flappy.Port}",
            "-summary-interval", "60s", .. (spoolDir is null ? Array.Empty<string>() : ["-spool-dir", spoolDir, "-spool-replay-rate", (2 * pointsPerSecond).ToString()])])
        { Environment = { ["CONSUL_HTTP_ADDR"] = $"127.0.0.1:{consulPort}" }, RedirectStandardError = true })!;
        var gatewayLog = gateway.StandardError.ReadToEndAsync();
        int pid = gateway.Id; // taskset execs the gateway in place
        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}/") };
        var stats = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{statPort}/") };
        await WaitAsync(async () => (await stats.GetAsync("readyz")).IsSuccessStatusCode);

        byte[] batch = Batch("soak", 5000);
        var clock = Stopwatch.StartNew();
        long accepted = 0, sent = 0;
        var refused = new System.Collections.Concurrent.ConcurrentDictionary<string, long>(); // by status, or the exception
        var samples = new List<Sample>();
        var events = new List<(double T, string What)>();
        using var stop = new CancellationTokenSource(duration);

        // Load: workers take one batch permit per 5000 points of the target rate.
        long permits = 0;
        var pacer = Task.Run(async () =>
        {
            var t = Stopwatch.StartNew();
            while (!stop.IsCancellationRequested)
            {
                long due = (long)(t.Elapsed.TotalSeconds * pointsPerSecond / 5000);
                Interlocked.Exchange(ref permits, Math.Max(0, due - Interlocked.Read(ref sent)));
                await Task.Delay(5);
            }
        });
        var workers = Enumerable.Range(0, Workers).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                if (Interlocked.Decrement(ref permits) < 0)
                {
                    Interlocked.Increment(ref permits);
                    await Task.Delay(1);
                    continue;
                }
                Interlocked.Increment(ref sent);
                using var request = new HttpRequestMessage(HttpMethod.Post, "ingest") { Content = new ByteArrayContent(batch) };
                request.Headers.TryAddWithoutValidation("X-Polymur-Key", Volatile.Read(ref key));
                try
                {
                    using var response = await http.SendAsync(request);
                    if (response.StatusCode == HttpStatusCode.OK)
                        Interlocked.Add(ref accepted, 5000);
                    else
                        refused.AddOrUpdate(((int)response.StatusCode).ToString(), 1, (_, n) => n + 1);
                }
                catch (HttpRequestException e)
                {
                    refused.AddOrUpdate(e.HttpRequestError.ToString(), 1, (_, n) => n + 1);
                }
            }
        })).ToArray();

        // Faults and sampling on one schedule.
        var chaos = Task.Run(async () =>
        {
            int minute = -1, regen = 0;
            while (!stop.IsCancellationRequested)
            {
                var t = clock.Elapsed;
                if ((int)t.TotalMinutes != minute)
                {
                    minute = (int)t.TotalMinutes;
                    if (minute > 0)
                    {
                        flappy.Stop();       // down for 30 s every minute
                        events.Add((t.TotalSeconds, "destination down"));
                    }
                }
                if (t.TotalSeconds % 60 >= 30 && !flappy.Running)
                {
                    flappy.Start();
                    events.Add((t.TotalSeconds, "destination up"));
                }
                if ((int)(t.TotalMinutes / 2) > regen)
                {
                    regen = (int)(t.TotalMinutes / 2);
                    string fresh = NewKey();
                    (await kv.PutAsync("v1/kv/polymur/gateway/keys/soak", new StringContent(fresh))).EnsureSuccessStatusCode();
                    Volatile.Write(ref key, fresh);
                    events.Add((t.TotalSeconds, "key switched"));
                }
                samples.Add(await SampleAsync(t.TotalSeconds, pid, stats));
                try { await Task.Delay(5000, stop.Token); } catch (OperationCanceledException) { }
            }
        });
        await Task.WhenAll(workers.Append(pacer).Append(chaos));
        if (!flappy.Running)
            flappy.Start();
        await WaitAsync(async () => JsonDocument.Parse(await stats.GetStringAsync("stats")).RootElement.GetProperty("points").GetProperty("queued").GetInt64() == 0, TimeSpan.FromSeconds(60));
        if (spoolDir is not null)
            await WaitAsync(async () => JsonDocument.Parse(await stats.GetStringAsync("stats")).RootElement.GetProperty("destinations").EnumerateArray().All(d => d.GetProperty("spool_pending").GetInt64() == 0), TimeSpan.FromSeconds(300));
        await Task.Delay(1000); // let the sinks read what the kernel holds
        using var final = JsonDocument.Parse(await stats.GetStringAsync("stats"));
        var root = final.RootElement;
        gateway.Kill(entireProcessTree: true);
        await gateway.WaitForExitAsync();
        consul.Kill();

        // Report.
        // Warm-up is one full turn of the fault schedule (a flap at 1:00, a key switch at 2:00): the first of each
        // touches code not yet paged in and sets the buffer pool's high-water mark.
        var warm = samples.Where(s => s.T >= WarmUpSeconds).ToList();
        double MiB(long bytes) => bytes / 1048576.0;
        double SlopeOf(Func<Sample, long> y) => Slope(warm.Select(s => (s.T / 3600, MiB(y(s)))).ToList());
        string ByMinute(Func<Sample, long> y) => string.Join(" ", samples.Where(s => s.T % 60 < 5).Select(s => MiB(y(s)).ToString("0.0")));
        long refusedTotal = refused.Values.Sum();
        Console.WriteLine($"soak: {minutes:0.#} min at {pointsPerSecond / 1e6:0.##} M points/s target; one destination down 30 s of every minute; key regenerated every 2 min; spool {(spoolDir is null ? "off" : "on, " + spoolDir)}");
        Console.WriteLine($"load: {accepted} points accepted ({accepted / duration.TotalSeconds / 1e6:0.##} M/s), {refusedTotal} batches refused or failed (of {sent})"
            + (refusedTotal == 0 ? "" : ": " + string.Join(", ", refused.OrderBy(p => p.Key).Select(p => $"{p.Key} x{p.Value}"))));
        Console.WriteLine($"rss MiB: start {MiB(samples[0].Rss):0.0}, after warm-up {MiB(warm.First().Rss):0.0}, end {MiB(samples[^1].Rss):0.0}, max {MiB(samples.Max(s => s.Rss)):0.0}; slope after warm-up {SlopeOf(s => s.Rss):+0.0;-0.0} MiB/hour");
        Console.WriteLine($"  of which anonymous: {MiB(warm.First().Anon):0.0} -> {MiB(samples[^1].Anon):0.0}, slope {SlopeOf(s => s.Anon):+0.0;-0.0} MiB/hour; file-backed (code, mapped once): {MiB(warm.First().File):0.0} -> {MiB(samples[^1].File):0.0}, slope {SlopeOf(s => s.File):+0.0;-0.0} MiB/hour");
        Console.WriteLine($"  gc committed: {MiB(warm.First().GcCommitted):0.0} -> {MiB(samples[^1].GcCommitted):0.0}, slope {SlopeOf(s => s.GcCommitted):+0.0;-0.0} MiB/hour; anonymous outside the gc heap: {MiB(warm.First().Anon - warm.First().GcCommitted):0.0} -> {MiB(samples[^1].Anon - samples[^1].GcCommitted):0.0}, slope {SlopeOf(s => s.Anon - s.GcCommitted):+0.0;-0.0} MiB/hour");
        Console.WriteLine($"  collections after warm-up: gen0 {samples[^1].Gen0 - warm.First().Gen0}, gen1 {samples[^1].Gen1 - warm.First().Gen1}, gen2 {samples[^1].Gen2 - warm.First().Gen2}; allocated {MiB(samples[^1].Allocated - warm.First().Allocated) / (samples[^1].T - warm.First().T):0.00} MiB/s, {(double)(samples[^1].Allocated - warm.First().Allocated) / Math.Max(1, Interlocked.Read(ref sent)) * samples[^1].T / (samples[^1].T - warm.First().T):0} bytes per batch");
        Console.WriteLine("rss MiB by minute:       " + ByMinute(s => s.Rss));
        Console.WriteLine("anonymous MiB by minute: " + ByMinute(s => s.Anon));
        Console.WriteLine("file MiB by minute:      " + ByMinute(s => s.File));
        Console.WriteLine("gc committed by minute:  " + ByMinute(s => s.GcCommitted));
        Console.WriteLine("gc heap by minute:       " + ByMinute(s => s.GcHeap));
        foreach (var g in new[] { "gen0", "gen1", "gen2", "loh", "poh" })
            Console.WriteLine($"  {g} by minute:{new string(' ', 15 - g.Length)}" + ByMinute(s => s.Generations.GetValueOrDefault(g)));
        Console.WriteLine("buffer pool kept MiB:    " + ByMinute(s => s.PoolRetained));
        // Buffers in use at once: up to two per client request in flight (while one grows into the next), plus one
        // queued and one being written per destination. The pool never allocates more than that peak.
        Console.WriteLine($"buffer pool: {samples[^1].PoolAllocations} buffers allocated ({warm.First().PoolAllocations} by the end of warm-up); this load can hold at most {Workers * 2 + 2 * 2} at once ({Workers} client requests, 2 destinations)");
        Console.WriteLine("buffer pool allocations: " + string.Join(" ", samples.Where(s => s.T % 60 < 5).Select(s => s.PoolAllocations)));
        // Every rise of 256 KiB or more within one sample after warm-up, with what grew and what happened just before.
        for (int i = 1; i < samples.Count; i++)
        {
            var (a, b) = (samples[i - 1], samples[i]);
            if (b.T < WarmUpSeconds || b.Rss - a.Rss < 256 << 10)
                continue;
            var happened = events.Where(e => e.T > a.T - 5 && e.T <= b.T).Select(e => e.What).ToList();
            if (b.Refused > a.Refused)
                happened.Add($"{b.Refused - a.Refused} refused");
            int newThreads = b.Tasks.Except(a.Tasks).Count();
            if (newThreads > 0)
                happened.Add($"{newThreads} new thread(s)");
            Console.WriteLine($"rss step at {b.T / 60:0}:{b.T % 60:00}: +{MiB(b.Rss - a.Rss):0.00} MiB (anonymous {MiB(b.Anon - a.Anon):+0.00;-0.00}, file {MiB(b.File - a.File):+0.00;-0.00}; "
                + $"loh {MiB(b.Generations.GetValueOrDefault("loh") - a.Generations.GetValueOrDefault("loh")):+0.00;-0.00}, pool buffers {b.PoolAllocations - a.PoolAllocations:+0;-0}) after: {(happened.Count == 0 ? "nothing scheduled" : string.Join(", ", happened))}");
        }
        int churn = samples.Skip(1).Zip(samples).Sum(p => p.First.Tasks.Except(p.Second.Tasks).Count());
        Console.WriteLine($"thread churn: {churn} threads started after the first sample");
        Console.WriteLine($"threads: {warm.Min(s => s.Threads)}..{warm.Max(s => s.Threads)} after warm-up; open files: {warm.Min(s => s.Files)}..{warm.Max(s => s.Files)}");
        Console.WriteLine("gateway refused: " + string.Join(", ", root.GetProperty("ingest").GetProperty("batches_refused").EnumerateObject().Select(p => $"{p.Name} x{p.Value.GetInt64()}")));
        long received = root.GetProperty("ingest").GetProperty("lines_received").GetInt64();
        bool ok = true;
        foreach (var d in root.GetProperty("destinations").EnumerateArray())
        {
            long routed = d.GetProperty("routed").GetInt64(), delivered = d.GetProperty("delivered").GetInt64(), queued = d.GetProperty("queued").GetInt64();
            long dropped = d.GetProperty("dropped").EnumerateObject().Sum(p => p.Value.GetInt64());
            long pending = d.GetProperty("spool_pending").GetInt64();
            bool identity = routed == delivered + dropped + queued + pending && routed == received && (spoolDir is null || dropped == 0);
            ok &= identity;
            Console.WriteLine($"destination {d.GetProperty("name").GetString()}: routed {routed} = delivered {delivered} + dropped {dropped} + queued {queued} + spool pending {pending}"
                + $" (spooled {d.GetProperty("spooled").GetInt64()}, resent {d.GetProperty("resent").GetInt64()}): {(identity ? "holds" : "BROKEN")}");
        }
        if (spoolDir is not null)
        {
            bool complete = flappy.Lines >= received;
            ok &= complete;
            Console.WriteLine($"flapping sink has {flappy.Lines} of {received} points: {(complete ? "none lost" : "LOST " + (received - flappy.Lines))}");
        }
        Console.WriteLine($"sinks counted: steady {steady.Lines}, flapping {flappy.Lines} (the gateway says it delivered; lines in a kernel buffer when a sink died are lost, as TCP allows)");
        Console.WriteLine($"gateway received {received}, client saw {accepted} accepted: {(received == accepted ? "equal" : "DIFFERENT")}");
        ok &= received == accepted && steady.Lines == root.GetProperty("destinations")[0].GetProperty("delivered").GetInt64();
        Console.WriteLine(ok ? "soak: PASS" : "soak: FAIL");
        return ok ? 0 : 1;
    }

    private const double WarmUpSeconds = 150;
    private const int Workers = 8;

    private static double Slope(List<(double X, double Y)> points)
    {
        double mx = points.Average(p => p.X), my = points.Average(p => p.Y);
        double num = points.Sum(p => (p.X - mx) * (p.Y - my)), den = points.Sum(p => (p.X - mx) * (p.X - mx));
        return den == 0 ? 0 : num / den;
    }

    /// <summary>One 5-second sample: RSS split into anonymous and file-backed pages, and the GC's own view.</summary>
    private sealed record Sample(double T, long Rss, long Anon, long File, long GcCommitted, long GcHeap, Dictionary<string, long> Generations, long Gen0, long Gen1, long Gen2, long Allocated, long PoolRetained, long PoolAllocations, long Refused, HashSet<string> Tasks, int Threads, int Files);

    private static async Task<Sample> SampleAsync(double t, int pid, HttpClient stats)
    {
        var status = File.ReadAllLines($"/proc/{pid}/status")
            .Select(l => l.Split(':', 2))
            .ToDictionary(p => p[0], p => p[1].Trim().Split(' ')[0]);
        long Kb(string name) => long.Parse(status[name]) * 1024;
        var generations = new Dictionary<string, long>();
        long poolRetained = 0, poolAllocations = 0, refused = 0;
        long committed = 0, heap = 0, gen0 = 0, gen1 = 0, gen2 = 0, allocated = 0;
        try
        {
            using var json = JsonDocument.Parse(await stats.GetStringAsync("stats"));
            var runtime = json.RootElement.GetProperty("runtime");
            var pool = json.RootElement.GetProperty("buffers");
            refused = json.RootElement.GetProperty("ingest").GetProperty("batches_refused").EnumerateObject().Sum(p => p.Value.GetInt64());
            poolRetained = pool.GetProperty("retained_bytes").GetInt64();
            poolAllocations = pool.GetProperty("allocations").GetInt64();
            committed = runtime.GetProperty("gc_committed_bytes").GetInt64();
            heap = runtime.GetProperty("gc_heap_size_bytes").GetInt64();
            foreach (var g in runtime.GetProperty("gc_generation_size_bytes").EnumerateObject())
                generations[g.Name] = g.Value.GetInt64();
            gen0 = runtime.GetProperty("gen0_collections").GetInt64();
            gen1 = runtime.GetProperty("gen1_collections").GetInt64();
            gen2 = runtime.GetProperty("gen2_collections").GetInt64();
            allocated = runtime.GetProperty("total_allocated_bytes").GetInt64();
        }
        catch (Exception) { } // a missed sample of the GC figures reads as 0, not as a failed soak
        return new Sample(t, Kb("VmRSS"), Kb("RssAnon"), Kb("RssFile"), committed, heap, generations, gen0, gen1, gen2, allocated, poolRetained, poolAllocations, refused,
            Directory.GetDirectories($"/proc/{pid}/task").Select(Path.GetFileName).ToHashSet()!, int.Parse(status["Threads"]), Directory.GetFiles($"/proc/{pid}/fd").Length);
    }

}
