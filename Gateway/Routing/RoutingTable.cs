using System.Collections.Immutable;
using Polymur.Gateway.Outputs;

namespace Polymur.Gateway.Routing;

/// <summary>
/// The destinations and the placement built for exactly those destinations, one reference, so a batch is always
/// routed against a consistent pair. Changes only when an operator adds or removes a destination, never because
/// one is down.
/// </summary>
public sealed record RoutingTable(DestinationMembers Members, IPlacement? Placement)
{
    public static readonly RoutingTable Empty = new(DestinationMembers.Empty, null);

    public ImmutableArray<Destination> Destinations => Members.Destinations;
}
