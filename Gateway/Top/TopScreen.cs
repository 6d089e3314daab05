using System.Globalization;
using Polymur.Gateway.Telemetry;

namespace Polymur.Gateway.Top;

/// <summary>
/// One screen of top from two samples a second apart: what came in, what was refused, each destination,
/// the busiest tenants, memory. It fits 80 by 24; a wider screen gets more columns, a taller one more rows.
/// </summary>
internal static class TopScreen
{
    public static List<string> Render(StatsSample before, StatsSample now, string source, int width, int height)
    {
        width = Math.Max(width, 80);
        height = Math.Max(height, 24);
        bool wide = width >= 110;
        double seconds = Math.Max((now.TakenUtc - before.TakenUtc).TotalSeconds, 0.001);
        double Rate(long a, long b) => Math.Max(0, b - a) / seconds;
        var lines = new List<string>();

        StatsSnapshot was = before.Stats, s = now.Stats;
        lines.Add(Fit($"polymur-gateway {source}  up {Duration(s.UptimeSeconds)}  keys {s.Keys.Count} ({s.Keys.Source}{(s.Keys.Reachable ? "" : ", unreachable")})  {now.TakenUtc:HH:mm:ss}Z", width));
        long received = s.Ingest.LinesReceived - was.Ingest.LinesReceived;
        double invalidShare = received > 0 ? (double)(s.Ingest.LinesInvalid - was.Ingest.LinesInvalid + s.Ingest.LinesTooLong - was.Ingest.LinesTooLong) / received : 0;
        lines.Add(Fit($"ingest   {Human(Rate(was.Ingest.LinesReceived, s.Ingest.LinesReceived)),7} points/s  {Human(Rate(was.Ingest.BatchesAccepted, s.Ingest.BatchesAccepted)),6} batches/s  invalid {Percent(invalidShare)}  connections {s.Connections.Open}", width));
        lines.Add(Fit("refused  " + string.Join("  ", s.Ingest.BatchesRefused.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => $"{r.Key} {Human(Rate(was.Ingest.BatchesRefused.GetValueOrDefault(r.Key), r.Value))}/s")), width));
        lines.Add(Fit($"out      {Human(Rate(was.Points.Delivered, s.Points.Delivered)),7} delivered/s  {Human(Rate(before.Dropped, now.Dropped)),6} dropped/s  ({now.Dropped} dropped in all)", width));
        lines.Add(Fit($"memory   rss {Bytes(s.Runtime.WorkingSetBytes)}  heap {Bytes(s.Runtime.GcHeapSizeBytes)}  batches {Bytes(s.Buffers.InUseBytes)}/{Bytes(s.Buffers.InUseLimitBytes)}  gc {Rate(before.Collections, now.Collections):0}/s {Percent(Math.Max(0, s.Runtime.GcPauseSeconds - was.Runtime.GcPauseSeconds) / seconds)} paused  cpu {Percent(Math.Max(0, s.Runtime.CpuSeconds - was.Runtime.CpuSeconds) / seconds)}", width));
        lines.Add("");

        // The rest of the screen goes to destinations first (at most half of it), then tenants.
        int room = height - lines.Count - 1;
        int destinationRows = Math.Min(s.Destinations.Length, Math.Max(1, room / 2 - 1));
        lines.Add(Fit(wide ? $"{"DESTINATION",-30} {"STATE",-5} {"QUEUED",14} {"SPOOLED",10} {"SPOOL",9} {"DELIVERED/s",11} {"DROPS",9} {"RESENT",8} {"TLS FAIL",8}"
                           : $"{"DESTINATION",-24} {"STATE",-5} {"QUEUED",12} {"SPOOLED",9} {"DELIVERED/s",11} {"DROPS",9}", width));
        var previous = was.Destinations.ToDictionary(d => d.Name);
        foreach (var d in s.Destinations.Take(destinationRows))
        {
            var p = previous.GetValueOrDefault(d.Name) ?? d;
            string queue = $"{Human(d.Queued)}/{Human(d.QueueCapacity)}";
            string state = !d.WriterRunning ? "DEAD" : d.Connected && !d.Down ? "up" : "DOWN";
            long dropped = d.Dropped.Values.Sum();
            lines.Add(Fit(wide ? $"{Cut(d.Name, 30),-30} {state,-5} {queue,14} {Human(d.SpoolPending),10} {Bytes(d.SpoolBytes),9} {Human(Rate(p.Delivered, d.Delivered)),11} {dropped,9} {d.Resent,8} {d.TlsFailures,8}"
                               : $"{Cut(d.Name, 24),-24} {state,-5} {queue,12} {Human(d.SpoolPending),9} {Human(Rate(p.Delivered, d.Delivered)),11} {dropped,9}", width));
        }
        if (s.Destinations.Length > destinationRows)
            lines.Add($"  ... {s.Destinations.Length - destinationRows} more");
        lines.Add("");

        int tenantRows = Math.Max(0, height - lines.Count - 2);
        var earlier = was.Tenants.ToDictionary(t => t.Name);
        var busiest = s.Tenants
            .Select(t => (Tenant: t, Rate: Rate(earlier.GetValueOrDefault(t.Name)?.PointsAccepted ?? t.PointsAccepted, t.PointsAccepted), Before: earlier.GetValueOrDefault(t.Name) ?? t))
            .OrderByDescending(x => x.Rate).ThenBy(x => x.Tenant.Name, StringComparer.Ordinal)
            .Take(tenantRows).ToArray();
        lines.Add(Fit(wide ? $"{"TENANT",-30} {"POINTS/s",10} {"10s AVG",10} {"INVALID",8} {"429/s",7} {"IN FLIGHT",9}"
                           : $"{"TENANT",-24} {"POINTS/s",10} {"INVALID",8} {"429/s",7} {"IN FLIGHT",9}", width));
        foreach (var (t, rate, b) in busiest)
        {
            long got = t.PointsAccepted + t.PointsInvalid + t.PointsTooLong - (b.PointsAccepted + b.PointsInvalid + b.PointsTooLong);
            double invalid = got > 0 ? (double)(t.PointsInvalid + t.PointsTooLong - b.PointsInvalid - b.PointsTooLong) / got : 0;
            double refused = Rate(b.Refused.Status429, t.Refused.Status429);
            lines.Add(Fit(wide ? $"{Cut(t.Name, 30),-30} {Human(rate),10} {Human(t.PointsPerSecond10s),10} {Percent(invalid),8} {Human(refused),7} {t.Inflight,9}"
                               : $"{Cut(t.Name, 24),-24} {Human(rate),10} {Percent(invalid),8} {Human(refused),7} {t.Inflight,9}", width));
        }
        while (lines.Count < height - 1)
            lines.Add("");
        lines.Add(Fit("q quit", width));
        return lines;
    }

    /// <summary>A plain one-off view (--once, or stdout not a terminal): the same screen without padding.</summary>
    public static string Plain(StatsSample before, StatsSample now, string source) =>
        string.Join('\n', Render(before, now, source, 120, 24 + now.Stats.Destinations.Length + now.Stats.Tenants.Length).Where(l => l.Length > 0 && l != "q quit")) + "\n";

    private static string Fit(string line, int width) => line.Length <= width ? line : line[..width];

    private static string Cut(string text, int width) => text.Length <= width ? text : text[..(width - 1)] + "~";

    public static string Human(double value) => value switch
    {
        >= 1e9 => (value / 1e9).ToString("0.00", CultureInfo.InvariantCulture) + "G",
        >= 1e6 => (value / 1e6).ToString("0.00", CultureInfo.InvariantCulture) + "M",
        >= 1e4 => (value / 1e3).ToString("0", CultureInfo.InvariantCulture) + "k",
        >= 1e3 => (value / 1e3).ToString("0.0", CultureInfo.InvariantCulture) + "k",
        _ => value.ToString("0", CultureInfo.InvariantCulture),
    };

    private static string Percent(double share) => (share * 100).ToString(share < 0.1 ? "0.0" : "0", CultureInfo.InvariantCulture) + "%";

    private static string Bytes(long bytes) => bytes switch
    {
        >= 1L << 30 => (bytes / (double)(1L << 30)).ToString("0.0", CultureInfo.InvariantCulture) + " GiB",
        >= 100L << 20 => (bytes >> 20).ToString(CultureInfo.InvariantCulture) + " MiB",
        >= 1L << 20 => (bytes / (double)(1L << 20)).ToString("0.0", CultureInfo.InvariantCulture) + " MiB",
        >= 1L << 10 => (bytes >> 10).ToString(CultureInfo.InvariantCulture) + " KiB",
        _ => bytes.ToString(CultureInfo.InvariantCulture) + " B",
    };

    private static string Duration(double seconds)
    {
        var t = TimeSpan.FromSeconds(seconds);
        return t.TotalDays >= 1 ? $"{(int)t.TotalDays}d{t.Hours:00}h" : t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:00}m" : $"{t.Minutes}m{t.Seconds:00}s";
    }
}
