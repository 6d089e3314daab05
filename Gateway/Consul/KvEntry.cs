using System.Text.Json.Serialization;

namespace Polymur.Gateway.Consul;

/// <summary>
/// One entry of Consul's KV API. Value arrives base64-encoded (or null); as a byte[] it is decoded by the
/// serializer straight from the JSON, with no intermediate string.
/// </summary>
public sealed class KvEntry
{
    public string Key { get; set; } = "";

    public byte[]? Value { get; set; }

    public ulong CreateIndex { get; set; }

    public ulong ModifyIndex { get; set; }

    public ulong LockIndex { get; set; }

    public ulong Flags { get; set; }

    public string? Session { get; set; }
}
