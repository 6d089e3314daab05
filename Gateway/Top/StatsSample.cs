using System.Text.Json;
using Polymur.Gateway.Telemetry;

namespace Polymur.Gateway.Top;

/// <summary>One /stats answer and when it was read: the gateway's own snapshot type, read back through the same
/// source-generated context that wrote it, so top and /stats cannot drift apart.</summary>
internal sealed record StatsSample(DateTime TakenUtc, StatsSnapshot Stats)
{
    public static StatsSample Parse(ReadOnlySpan<byte> json, DateTime takenUtc) =>
        new(takenUtc, JsonSerializer.Deserialize(json, StatsJsonContext.Default.StatsSnapshot) ?? throw new JsonException("/stats answered null"));

    public long Dropped => Stats.Points.Dropped.Values.Sum();

    public long Collections => Stats.Runtime.Gen0Collections + Stats.Runtime.Gen1Collections + Stats.Runtime.Gen2Collections;
}
