using System.Text.Json.Serialization;
using Polymur.Gateway.Outputs;

namespace Polymur.Gateway.Admin;

/// <summary>A destination as the admin API shows it.</summary>
public sealed record DestinationView(
    string Name,
    bool Connected,
    long QueuedPoints,
    long QueueCapacity,
    long Routed,
    long Delivered,
    DropCounts Dropped,
    long SpooledPending,
    bool Tls,
    long TlsFailures,
    bool Down,
    long Written,
    long Timeouts,
    long WriterErrors,
    bool WriterRunning)
{
    public static DestinationView Of(Destination d) => new(
        d.Name,
        d.Connected,
        d.Counters.Queued,
        d.Queue.CapacityPoints,
        d.Counters.Routed,
        d.Counters.Delivered,
        new DropCounts(
            d.Counters.Dropped(DropReason.QueueFull),
            d.Counters.Dropped(DropReason.ShutdownTimeout),
            d.Counters.Dropped(DropReason.DestinationRemoved),
            d.Counters.Dropped(DropReason.SpoolFull),
            d.Counters.Dropped(DropReason.SpoolCorrupt)),
        d.Counters.SpoolPending,
        d.Tls,
        d.Counters.TlsFailures,
        d.Down || !d.Connected,
        d.Counters.Written,
        d.Counters.Timeouts,
        d.Counters.WriterErrors,
        d.WriterRunning);
}

public sealed record DropCounts(long QueueFull, long ShutdownTimeout, long DestinationRemoved, long SpoolFull, long SpoolCorrupt);

/// <summary>The body of POST /destinations.</summary>
public sealed record AddDestinationRequest(string? Address);

/// <summary>Every admin error: one short sentence.</summary>
public sealed record AdminError(string Error);

/// <summary>Source-generated JSON for the admin API: no reflection, AOT-safe.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true)]
[JsonSerializable(typeof(DestinationView))]
[JsonSerializable(typeof(DestinationView[]))]
[JsonSerializable(typeof(AddDestinationRequest))]
[JsonSerializable(typeof(AdminError))]
[JsonSerializable(typeof(Tenants.TenantStats[]))]
[JsonSerializable(typeof(Tenants.TenantDetail))]
public sealed partial class AdminJsonContext : JsonSerializerContext;
