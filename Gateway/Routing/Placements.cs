using System.Collections.Immutable;
using Polymur.Gateway.Configuration;

namespace Polymur.Gateway.Routing;

/// <summary>Builds the placement a distribution needs for a list of destinations.</summary>
public static class Placements
{
    /// <returns>Null for broadcast, which places nothing.</returns>
    public static IPlacement? For(Distribution distribution, ImmutableArray<DestinationAddress> destinations)
    {
        if (destinations.IsEmpty)
            return null;
        return distribution switch
        {
            Distribution.CarbonCh => new PlacementCache(new CarbonRing(destinations)),
            Distribution.Fnv1aCh => new Fnv1aRing(destinations),
            Distribution.JumpFnv1aCh => new JumpFnv1aPlacement(destinations),
            _ => null,
        };
    }
}
