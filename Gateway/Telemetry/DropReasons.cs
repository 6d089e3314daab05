using Polymur.Gateway.Outputs;

namespace Polymur.Gateway.Telemetry;

/// <summary>The names drop reasons have in /stats, /metrics and self-metrics.</summary>
public static class DropReasons
{
    public static readonly DropReason[] All = [DropReason.QueueFull, DropReason.ShutdownTimeout, DropReason.DestinationRemoved, DropReason.SpoolFull, DropReason.SpoolCorrupt];

    public static string Name(DropReason reason) => reason switch
    {
        DropReason.QueueFull => "queue_full",
        DropReason.ShutdownTimeout => "shutdown_timeout",
        DropReason.DestinationRemoved => "destination_removed",
        DropReason.SpoolFull => "spool_full",
        _ => "spool_corrupt",
    };
}
