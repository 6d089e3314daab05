using System.Text.Json;

namespace Polymur.Gateway.Top;

/// <summary>What top shows of one /stats answer, read with JsonDocument: no types to keep in step, no reflection.</summary>
internal sealed record StatsSample(
    DateTime TakenUtc,
    double Uptime,
    long Batches,
    long Lines,
    long Invalid,
    long TooLong,
    Dictionary<string, long> Refused,
    long Delivered,
    long Dropped,
    string KeySource,
    long Keys,
    bool KeysReachable,
    long Rss,
    long Heap,
    long BatchMemory,
    long BatchMemoryLimit,
    long Collections,
    double GcPause,
    double Cpu,
    int Connections,
    DestinationSample[] Destinations,
    TenantSample[] Tenants)
{
    public static StatsSample Parse(ReadOnlySpan<byte> json, DateTime takenUtc)
    {
        var reader = new Utf8JsonReader(json);
        using var document = JsonDocument.ParseValue(ref reader);
        var root = document.RootElement;
        var ingest = root.GetProperty("ingest");
        var points = root.GetProperty("points");
        var keys = root.GetProperty("keys");
        var runtime = root.GetProperty("runtime");
        var buffers = root.GetProperty("buffers");
        return new StatsSample(
            takenUtc,
            root.GetProperty("uptime_seconds").GetDouble(),
            ingest.GetProperty("batches_accepted").GetInt64(),
            ingest.GetProperty("lines_received").GetInt64(),
            ingest.GetProperty("lines_invalid").GetInt64(),
            ingest.GetProperty("lines_too_long").GetInt64(),
            Counts(ingest.GetProperty("batches_refused")),
            points.GetProperty("delivered").GetInt64(),
            Counts(points.GetProperty("dropped")).Values.Sum(),
            keys.GetProperty("source").GetString() ?? "",
            keys.GetProperty("count").GetInt64(),
            keys.GetProperty("reachable").GetBoolean(),
            runtime.GetProperty("working_set_bytes").GetInt64(),
            runtime.GetProperty("gc_heap_size_bytes").GetInt64(),
            buffers.GetProperty("in_use_bytes").GetInt64(),
            buffers.GetProperty("in_use_limit_bytes").GetInt64(),
            runtime.GetProperty("gen0_collections").GetInt64() + runtime.GetProperty("gen1_collections").GetInt64() + runtime.GetProperty("gen2_collections").GetInt64(),
            runtime.GetProperty("gc_pause_seconds").GetDouble(),
            runtime.GetProperty("cpu_seconds").GetDouble(),
            root.GetProperty("connections").GetProperty("open").GetInt32(),
            [.. root.GetProperty("destinations").EnumerateArray().Select(DestinationSample.Of)],
            [.. root.GetProperty("tenants").EnumerateArray().Select(TenantSample.Of)]);
    }

    private static Dictionary<string, long> Counts(JsonElement element) =>
        element.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt64());
}

internal sealed record DestinationSample(string Name, bool Connected, long Delivered, long Dropped, long Queued, long QueueCapacity, long SpoolPending, long SpoolBytes, long Resent, long TlsFailures)
{
    public static DestinationSample Of(JsonElement d) => new(
        d.GetProperty("name").GetString() ?? "",
        d.GetProperty("connected").GetBoolean(),
        d.GetProperty("delivered").GetInt64(),
        d.GetProperty("dropped").EnumerateObject().Sum(p => p.Value.GetInt64()),
        d.GetProperty("queued").GetInt64(),
        d.GetProperty("queue_capacity").GetInt64(),
        d.GetProperty("spool_pending").GetInt64(),
        d.GetProperty("spool_bytes").GetInt64(),
        d.GetProperty("resent").GetInt64(),
        d.GetProperty("tls_failures").GetInt64());
}

internal sealed record TenantSample(string Name, long Points, long Invalid, long TooLong, long Refused429, int Inflight, double Rate10s)
{
    public static TenantSample Of(JsonElement t) => new(
        t.GetProperty("name").GetString() ?? "",
        t.GetProperty("points_accepted").GetInt64(),
        t.GetProperty("points_invalid").GetInt64(),
        t.GetProperty("points_too_long").GetInt64(),
        t.GetProperty("refused").GetProperty("429").GetInt64(),
        t.GetProperty("inflight").GetInt32(),
        t.GetProperty("points_per_second10s").GetDouble());
}
