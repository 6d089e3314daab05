using System.Collections.Immutable;
using Polymur.Gateway.Configuration;

namespace Polymur.Gateway.Outputs;

/// <summary>
/// The destinations running at one moment, with the addresses they were configured by, in the same order. A new
/// instance for every add or remove, so one reference names one consistent list.
/// </summary>
public sealed record DestinationMembers(ImmutableArray<Destination> Destinations, ImmutableArray<DestinationAddress> Addresses)
{
    public static readonly DestinationMembers Empty = new([], []);
}
