using System.Text.Json;
using System.Text.Json.Serialization;
using Polymur.Gateway.Telemetry;
using Polymur.Gateway.Tenants;

namespace Polymur.Gateway.Top;

/// <summary>
/// Source-generated JSON for reading /stats back, one section at a time. Strict about each section (every field
/// its record needs, of its type, null only where it may be), so a section is either whole or reported missing;
/// the answer's other sections are shown all the same.
/// </summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, RespectNullableAnnotations = true, RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(Dictionary<string, JsonElement>))]
[JsonSerializable(typeof(IngestStats))]
[JsonSerializable(typeof(PointTotals))]
[JsonSerializable(typeof(DestinationStats[]))]
[JsonSerializable(typeof(KeyStats))]
[JsonSerializable(typeof(BufferStats))]
[JsonSerializable(typeof(ConnectionStats))]
[JsonSerializable(typeof(RuntimeStats))]
[JsonSerializable(typeof(TenantStats[]))]
internal sealed partial class TopJsonContext : JsonSerializerContext;
