using System.Collections.Immutable;
using Polymur.Gateway.Outputs;

namespace Polymur.Gateway.Routing;

/// <summary>
/// The destinations and the placement built for exactly those destinations, swapped as one reference so a
/// batch is always routed against a consistent pair. Changes only when an operator adds or removes a
/// destination, never because one is down.
/// </summary>
public sealed record RoutingTable(ImmutableArray<Destination> Destinations, IPlacement? Placement)
{
    public static readonly RoutingTable Empty = new([], null);
}
