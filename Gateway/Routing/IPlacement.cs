namespace Polymur.Gateway.Routing;

/// <summary>Picks the one destination (an index into the configured list) that owns a metric path.</summary>
public interface IPlacement
{
    int DestinationFor(ReadOnlySpan<byte> metricPath);
}
