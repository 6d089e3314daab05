using System.Text.Json.Serialization;

namespace Polymur.Gateway.Consul;

/// <summary>Source-generated JSON for Consul's API: no reflection, AOT-safe. Consul spells its fields in PascalCase.</summary>
[JsonSourceGenerationOptions(PropertyNameCaseInsensitive = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(KvEntry[]))]
[JsonSerializable(typeof(ServiceHealth[]))]
[JsonSerializable(typeof(ServiceRegistration))]
internal sealed partial class ConsulJsonContext : JsonSerializerContext;
