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
        double Rate(long a, long b) => Math.Max(0, (double)b - a) / seconds;
        var lines = new List<string>();

        // A section the earlier answer lacked has no rate yet: it is compared with itself (0/s).
        var keys = now.Keys;
        string keysText = keys is null ? "keys ?" : $"keys {keys.Count} ({keys.Source}{(keys.Reachable ? "" : ", unreachable")})";
        lines.Add(Fit($"polymur-gateway {source}  up {(now.UptimeSeconds is double up ? Duration(up) : "?")}  {keysText}  {now.TakenUtc:HH:mm:ss}Z", width));
        if (now.Missing.Count > 0)
            lines.AddRange(Wrap("missing from /stats: ", now.Missing, width));
        if (now.Ingest is { } si)
        {
            var wi = before.Ingest ?? si;
            long received = si.LinesReceived - wi.LinesReceived;
            double invalidShare = received > 0 ? ((double)si.LinesInvalid - wi.LinesInvalid + si.LinesTooLong - wi.LinesTooLong) / received : 0;
            string connections = now.Connections is { } c ? $"{c.Open}" : "?";
            lines.Add(Fit($"ingest   {Human(Rate(wi.LinesReceived, si.LinesReceived)),7} points/s  {Human(Rate(wi.BatchesAccepted, si.BatchesAccepted)),6} batches/s  invalid {Percent(invalidShare)}  connections {connections}", width));
            lines.Add(Fit("refused  " + string.Join("  ", si.BatchesRefused.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => $"{r.Key} {Human(Rate(wi.BatchesRefused.GetValueOrDefault(r.Key, r.Value), r.Value))}/s")), width));
        }
        else
            lines.Add("ingest   ?");
        if (now.Points is { } sp)
        {
            var wp = before.Points ?? sp;
            long droppedBefore = before.Points is null ? now.Dropped : before.Dropped;
            lines.Add(Fit($"out      {Human(Rate(wp.Delivered, sp.Delivered)),7} delivered/s  {Human(Rate(droppedBefore, now.Dropped)),6} dropped/s  ({now.Dropped} dropped in all)", width));
        }
        else
            lines.Add("out      ?");
        lines.Add(Fit("memory   " + Memory(before, now, seconds), width));
        lines.Add("");

        // The rest of the screen goes to destinations first (at most half of it), then tenants.
        var destinations = now.Destinations ?? [];
        int room = height - lines.Count - 1;
        int destinationRows = Math.Min(destinations.Length, Math.Max(1, room / 2 - 1));
        lines.Add(Fit(wide ? $"{"DESTINATION",-30} {"STATE",-5} {"QUEUED",14} {"SPOOLED",10} {"SPOOL",9} {"DELIVERED/s",11} {"DROPS",9} {"RESENT",8} {"TLS FAIL",8}"
                           : $"{"DESTINATION",-24} {"STATE",-5} {"QUEUED",12} {"SPOOLED",9} {"DELIVERED/s",11} {"DROPS",9}", width));
        var previous = ByName(before.Destinations, d => d.Name);
        foreach (var d in destinations.Take(destinationRows))
        {
            var p = previous.GetValueOrDefault(d.Name) ?? d;
            string queue = $"{Human(d.Queued)}/{Human(d.QueueCapacity)}";
            string state = !d.WriterRunning ? "DEAD" : d.Connected && !d.Down ? "up" : "DOWN";
            long dropped = d.Dropped.Values.Sum();
            lines.Add(Fit(wide ? $"{Cut(d.Name, 30),-30} {state,-5} {queue,14} {Human(d.SpoolPending),10} {Bytes(d.SpoolBytes),9} {Human(Rate(p.Delivered, d.Delivered)),11} {dropped,9} {d.Resent,8} {d.TlsFailures,8}"
                               : $"{Cut(d.Name, 24),-24} {state,-5} {queue,12} {Human(d.SpoolPending),9} {Human(Rate(p.Delivered, d.Delivered)),11} {dropped,9}", width));
        }
        if (now.Destinations is null)
            lines.Add("  ?");
        if (destinations.Length > destinationRows)
            lines.Add($"  ... {destinations.Length - destinationRows} more");
        lines.Add("");

        int tenantRows = Math.Max(0, height - lines.Count - 2);
        var earlier = ByName(before.Tenants, t => t.Name);
        var busiest = (now.Tenants ?? [])
            .Select(t => (Tenant: t, Rate: Rate(earlier.GetValueOrDefault(t.Name)?.PointsAccepted ?? t.PointsAccepted, t.PointsAccepted), Before: earlier.GetValueOrDefault(t.Name) ?? t))
            .OrderByDescending(x => x.Rate).ThenBy(x => x.Tenant.Name, StringComparer.Ordinal)
            .Take(tenantRows).ToArray();
        lines.Add(Fit(wide ? $"{"TENANT",-30} {"POINTS/s",10} {"10s AVG",10} {"INVALID",8} {"429/s",7} {"IN FLIGHT",9}"
                           : $"{"TENANT",-24} {"POINTS/s",10} {"INVALID",8} {"429/s",7} {"IN FLIGHT",9}", width));
        foreach (var (t, rate, b) in busiest)
        {
            double got = (double)t.PointsAccepted + t.PointsInvalid + t.PointsTooLong - ((double)b.PointsAccepted + b.PointsInvalid + b.PointsTooLong);
            double invalid = got > 0 ? ((double)t.PointsInvalid + t.PointsTooLong - b.PointsInvalid - b.PointsTooLong) / got : 0;
            double refused = Rate(b.Refused.Status429, t.Refused.Status429);
            lines.Add(Fit(wide ? $"{Cut(t.Name, 30),-30} {Human(rate),10} {Human(t.PointsPerSecond10s),10} {Percent(invalid),8} {Human(refused),7} {t.Inflight,9}"
                               : $"{Cut(t.Name, 24),-24} {Human(rate),10} {Percent(invalid),8} {Human(refused),7} {t.Inflight,9}", width));
        }
        if (now.Tenants is null)
            lines.Add("  ?");
        while (lines.Count < height - 1)
            lines.Add("");
        lines.Add(Fit("q quit", width));
        return lines;
    }

    private static string Memory(StatsSample before, StatsSample now, double seconds)
    {
        var parts = new List<string>();
        if (now.Runtime is { } r)
        {
            var w = before.Runtime ?? r;
            long collectionsBefore = before.Runtime is null ? now.Collections : before.Collections;
            parts.Add($"rss {Bytes(r.WorkingSetBytes)}  heap {Bytes(r.GcHeapSizeBytes)}");
            if (now.Buffers is { } b)
                parts.Add($"batches {Bytes(b.InUseBytes)}/{Bytes(b.InUseLimitBytes)}");
            parts.Add($"gc {Math.Max(0, (double)now.Collections - collectionsBefore) / seconds:0}/s {Percent(Math.Max(0, r.GcPauseSeconds - w.GcPauseSeconds) / seconds)} paused  cpu {Percent(Math.Max(0, r.CpuSeconds - w.CpuSeconds) / seconds)}");
        }
        else if (now.Buffers is { } b)
            parts.Add($"?  batches {Bytes(b.InUseBytes)}/{Bytes(b.InUseLimitBytes)}");
        else
            parts.Add("?");
        return string.Join("  ", parts);
    }

    // "head a, b, c" over as many lines as it takes, each within the width.
    private static IEnumerable<string> Wrap(string head, IReadOnlyList<string> items, int width)
    {
        var line = new System.Text.StringBuilder(head);
        for (int i = 0; i < items.Count; i++)
        {
            string item = items[i] + (i < items.Count - 1 ? "," : "");
            if (line.Length > head.Length && line.Length + 1 + item.Length > width)
            {
                yield return line.ToString();
                line.Clear().Append(' ', head.Length);
            }
            else if (line.Length > head.Length)
                line.Append(' ');
            line.Append(item);
        }
        yield return Fit(line.ToString(), width);
    }

    // First of each name: an odd /stats may repeat one.
    private static Dictionary<string, T> ByName<T>(T[]? items, Func<T, string> name)
    {
        var byName = new Dictionary<string, T>(StringComparer.Ordinal);
        foreach (var item in items ?? [])
            byName.TryAdd(name(item), item);
        return byName;
    }

    /// <summary>A plain one-off view (--once, or stdout not a terminal): the same screen without padding.</summary>
    public static string Plain(StatsSample before, StatsSample now, string source) =>
        string.Join('\n', Render(before, now, source, 120, 28 + (now.Destinations?.Length ?? 0) + (now.Tenants?.Length ?? 0)).Where(l => l.Length > 0 && l != "q quit")) + "\n";

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

    // Clamped: an odd /stats may say anything (negative, NaN, 1e308), which TimeSpan cannot hold.
    private static string Duration(double seconds)
    {
        var t = TimeSpan.FromSeconds(double.IsFinite(seconds) ? Math.Clamp(seconds, 0, 1e10) : 0);
        return t.TotalDays >= 1 ? $"{(int)t.TotalDays}d{t.Hours:00}h" : t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:00}m" : $"{t.Minutes}m{t.Seconds:00}s";
    }
}
