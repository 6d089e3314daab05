using Polymur.Gateway.Configuration;
using Polymur.Gateway.Outputs;

namespace Polymur.Gateway.Routing;

/// <summary>
/// The routing table for the destination set's current members: built once per add or remove, by the first
/// request to see the new members, and shared by every request after it. Lock-free: two requests racing on a
/// change may both build one; either is right, since both come from the same members.
/// </summary>
public sealed class RoutingTables(DestinationSet destinations, Distribution distribution)
{
    private RoutingTable _table = RoutingTable.Empty;

    public RoutingTable Current
    {
        get
        {
            var members = destinations.Members;
            var table = Volatile.Read(ref _table);
            if (ReferenceEquals(table.Members, members))
                return table;
            // One destination needs no placement (the console, or a single carbon).
            var built = new RoutingTable(members, members.Destinations.Length > 1 ? Placements.For(distribution, members.Addresses) : null);
            Interlocked.CompareExchange(ref _table, built, table);
            return built;
        }
    }
}
