using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;
using Polymur.Gateway.Ingest;
using static BenchParts;

/// <summary>
/// Issue 23's F13, "refused work costs nothing": a tenant flooding past its quota (wrk, 50 connections of
/// 50,000-line batches as fast as answered, limit 100,000 points/s in Consul) beside a polite tenant (10
/// 1,000-line batches a second, one connection). Prints what the flood had inflated per second and what that
/// costs on one core (libdeflate alone on the same batch, measured here), the gateway's CPU, and the polite
/// tenant's p99 alone and beside the flood, as a ratio, all in one run. The gateway is on CPU 0 (taskset), the
/// caller runs this on CPU 1.
/// </summary>
internal static partial class QuotaBench
{
    private const int FloodLines = 50_000, FloodConnections = 50, FloodLimit = 100_000, PoliteLines = 1000;

    public static async Task<int> RunAsync(string binary, string consulBinary, double seconds)
    {
        int consulPort = FreePort();
        using var consul = StartConsul(consulBinary, consulPort);
        var kv = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{consulPort}/") };
        await WaitAsync(async () => (await kv.GetStringAsync("v1/status/leader")).Contains(':'));
        string polite = NewKey(), flood = NewKey();
        foreach (var (key, value) in new[] { ("keys/polite", polite), ("keys/flood", flood), ("limits/flood", $"{{\"rate\": {FloodLimit}}}") })
            (await kv.PutAsync($"v1/kv/polymur/gateway/{key}", new StringContent(value))).EnsureSuccessStatusCode();

        var work = Directory.CreateTempSubdirectory("quota-bench");
        string floodBody = Path.Combine(work.FullName, "flood.gz");
        File.WriteAllBytes(floodBody, Gzip(Enumerable.Range(0, FloodLines).Select(i => $"fx.m{i:000000} 1 1700000000\n")));
        byte[] politeBatch = Batch("polite", PoliteLines);
        double inflateNsPerByte = InflateNsPerByte(File.ReadAllBytes(floodBody));

        var sink = new CountingSink(FreePort());
        sink.Start();
        int httpPort = FreePort(), statPort = FreePort();
        using var gateway = Process.Start(new ProcessStartInfo("taskset", ["-c", "0", binary,
            "-listen-addr", "127.0.0.1", "-listen-http-port", httpPort.ToString(CultureInfo.InvariantCulture), "-api-addr", "127.0.0.1:0",
            "-stat-addr", $"127.0.0.1:{statPort}", "-destinations", $"127.0.0.1:{sink.Port}", "-summary-interval", "0"])
        { Environment = { ["CONSUL_HTTP_ADDR"] = $"127.0.0.1:{consulPort}" }, RedirectStandardError = true })!;
        _ = gateway.StandardError.ReadToEndAsync();
        try
        {
            var stats = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{statPort}/") };
            await WaitAsync(async () => (await stats.GetStringAsync("metrics")).Contains("polymur_gateway_api_keys 2\n"));
            var url = new Uri($"http://127.0.0.1:{httpPort}/ingest");

            var alone = await PoliteAsync(url, polite, politeBatch, seconds);

            using var wrk = Process.Start(new ProcessStartInfo("wrk", ["-t1", $"-c{FloodConnections}", $"-d{seconds + 3:0}s", "--timeout", "20s", "-s", "bench/flood.lua", url.ToString()])
            { Environment = { ["QUOTA_FLOOD_BODY"] = floodBody, ["QUOTA_FLOOD_KEY"] = flood }, RedirectStandardOutput = true })!;
            var wrkOut = wrk.StandardOutput.ReadToEndAsync();
            await Task.Delay(1500); // the flood at full speed, its first batches (unknown ratio) behind it
            var before = await SampleAsync(stats, gateway.Id);
            var beside = await PoliteAsync(url, polite, politeBatch, seconds);
            var after = await SampleAsync(stats, gateway.Id);
            await wrk.WaitForExitAsync();

            double dt = (after.At - before.At).TotalSeconds;
            double inflatedPerS = (after.FloodInflated - before.FloodInflated) / dt;
            Console.WriteLine($"quota flood ({FloodConnections} connections of {FloodLines:N0}-line batches, limit {FloodLimit:N0} points/s) beside a polite tenant ({PoliteLines}-line batches, 10/s), gateway on one core:");
            Console.WriteLine($"  flood: {(after.FloodAccepted - before.FloodAccepted) / dt:N0} points/s accepted, {(after.Flood429 - before.Flood429) / dt:N0} 429/s; {wrkOut.Result.Trim().Split('\n')[^1]}");
            Console.WriteLine($"  flood inflated: {inflatedPerS / 1e6:0.0} MB/s = {inflatedPerS * inflateNsPerByte / 1e9 * 100:0.0}% of a core in inflation (libdeflate, {inflateNsPerByte:0.00} ns per inflated byte)");
            Console.WriteLine($"  gateway CPU with the flood: {(after.CpuSeconds - before.CpuSeconds) / dt:0.00} cores");
            Console.WriteLine($"  polite alone:        p50 {alone.P50:0.0} ms, p99 {alone.P99:0.0} ms, {alone.Refused} refused");
            Console.WriteLine($"  polite beside flood: p50 {beside.P50:0.0} ms, p99 {beside.P99:0.0} ms, {beside.Refused} refused; p99 ratio {beside.P99 / alone.P99:0.00}x");
            return 0;
        }
        finally
        {
            gateway.Kill();
            consul.Kill();
            work.Delete(recursive: true);
        }
    }

    private sealed record Sample(DateTime At, double FloodInflated, double FloodAccepted, double Flood429, double CpuSeconds);

    private static async Task<Sample> SampleAsync(HttpClient stats, int pid)
    {
        string metrics = await stats.GetStringAsync("metrics");
        double Metric(string name, string label) =>
            Regex.Match(metrics, $"^{name}\\{{tenant=\"flood\",{label}\\}} (\\S+)$", RegexOptions.Multiline) is { Success: true } m ? double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
        var stat = File.ReadAllText($"/proc/{pid}/stat").Split(')')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        double cpu = (long.Parse(stat[11], CultureInfo.InvariantCulture) + long.Parse(stat[12], CultureInfo.InvariantCulture)) / 100.0; // utime + stime, USER_HZ
        return new Sample(DateTime.UtcNow, Metric("polymur_gateway_tenant_bytes_total", "form=\"decompressed\""),
            Metric("polymur_gateway_tenant_points_total", "result=\"accepted\""), Metric("polymur_gateway_tenant_batches_refused_total", "status=\"429\""), cpu);
    }

    // A polymur-proxy's pace: a batch every 100 ms, one connection, each batch's latency kept.
    private static async Task<(double P50, double P99, int Refused)> PoliteAsync(Uri url, string key, byte[] batch, double seconds)
    {
        using var client = new HttpClient();
        var latencies = new List<double>();
        int refused = 0;
        var clock = Stopwatch.StartNew();
        for (int i = 0; clock.Elapsed.TotalSeconds < seconds; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(batch), Headers = { { "X-Polymur-Key", key } } };
            var t = Stopwatch.StartNew();
            using var response = await client.SendAsync(request);
            latencies.Add(t.Elapsed.TotalMilliseconds);
            if ((int)response.StatusCode != 200)
                refused++;
            var next = TimeSpan.FromMilliseconds(100 * (i + 1)) - clock.Elapsed;
            if (next > TimeSpan.Zero)
                await Task.Delay(next);
        }
        latencies.Sort();
        return (latencies[latencies.Count / 2], latencies[(int)(latencies.Count * 0.99)], refused);
    }

    // libdeflate on this thread alone: CPU ns per byte it writes, for the flood's own batch.
    private static double InflateNsPerByte(byte[] gz)
    {
        var output = new byte[8 << 20];
        using var decompressor = new Libdeflate();
        var process = Process.GetCurrentProcess();
        long bytes = 0;
        var start = process.TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        while (wall.Elapsed.TotalSeconds < 2)
        {
            if (decompressor.Inflate(gz, output, out _, out int written) != MemberResult.Done)
                throw new InvalidOperationException("libdeflate could not inflate the flood batch");
            bytes += written;
        }
        process.Refresh();
        return (process.TotalProcessorTime - start).TotalMilliseconds * 1e6 / bytes;
    }

    private static byte[] Gzip(IEnumerable<string> lines)
    {
        var output = new MemoryStream();
        using (var gzip = new GZipStream(output, new ZLibCompressionOptions { CompressionLevel = 6 }, leaveOpen: true))
            gzip.Write(Encoding.ASCII.GetBytes(string.Concat(lines)));
        return output.ToArray();
    }
}
