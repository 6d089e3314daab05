using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Polymur.Gateway.Telemetry;
using Polymur.Gateway.Tenants;

namespace Polymur.Gateway.Top;

/// <summary>
/// One /stats answer and when it was read, section by section: the gateway's own snapshot records, each read
/// through <see cref="TopJsonContext"/>. A section that is absent, null or not of its shape is null here and named
/// in <see cref="Missing"/>, so an odd or older /stats still shows what it has.
/// </summary>
internal sealed record StatsSample(
    DateTime TakenUtc,
    double? UptimeSeconds,
    IngestStats? Ingest,
    PointTotals? Points,
    DestinationStats[]? Destinations,
    KeyStats? Keys,
    BufferStats? Buffers,
    ConnectionStats? Connections,
    RuntimeStats? Runtime,
    TenantStats[]? Tenants,
    IReadOnlyList<string> Missing)
{
    /// <summary>The sections top reads, as /stats names them.</summary>
    public static readonly string[] Sections = ["uptime_seconds", "ingest", "points", "destinations", "keys", "buffers", "connections", "runtime", "tenants"];

    /// <summary>True when not one section could be read: not a gateway's /stats.</summary>
    public bool Empty => Missing.Count == Sections.Length;

    public long Dropped => Points?.Dropped.Values.Sum() ?? 0;

    public long Collections => Runtime is { } r ? r.Gen0Collections + r.Gen1Collections + r.Gen2Collections : 0;

    /// <exception cref="StatsUnreadableException">The answer is not a JSON object (garbage, null, an array, nested too deep).</exception>
    public static StatsSample Parse(ReadOnlySpan<byte> json, DateTime takenUtc)
    {
        Dictionary<string, JsonElement>? root;
        try
        {
            root = JsonSerializer.Deserialize(json, TopJsonContext.Default.DictionaryStringJsonElement);
        }
        catch (JsonException e)
        {
            throw new StatsUnreadableException($"the answer is not a JSON object (at byte {e.BytePositionInLine ?? 0} of line {(e.LineNumber ?? 0) + 1})");
        }
        if (root is null)
            throw new StatsUnreadableException("the answer is null, not a JSON object");

        var missing = new List<string>();
        T? Section<T>(string name, JsonTypeInfo<T> type) where T : class
        {
            if (!root.TryGetValue(name, out var element) || element.ValueKind == JsonValueKind.Null)
            {
                missing.Add(name);
                return null;
            }
            try
            {
                var value = element.Deserialize(type) ?? throw new JsonException();
                // Nullable annotations do not reach an array's items: a null item makes the section odd too.
                if (value is object?[] items && Array.IndexOf(items, null) >= 0)
                    throw new JsonException();
                return value;
            }
            catch (JsonException)
            {
                missing.Add($"{name} (not of its shape)");
                return null;
            }
        }

        double? uptime = null;
        if (root.TryGetValue("uptime_seconds", out var up) && up.ValueKind == JsonValueKind.Number && up.TryGetDouble(out double seconds))
            uptime = seconds;
        else
            missing.Add("uptime_seconds");
        var c = TopJsonContext.Default;
        return new StatsSample(takenUtc, uptime,
            Section("ingest", c.IngestStats),
            Section("points", c.PointTotals),
            Section("destinations", c.DestinationStatsArray),
            Section("keys", c.KeyStats),
            Section("buffers", c.BufferStats),
            Section("connections", c.ConnectionStats),
            Section("runtime", c.RuntimeStats),
            Section("tenants", c.TenantStatsArray),
            missing);
    }
}
