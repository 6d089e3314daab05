using Polymur.Gateway.Configuration;
using Polymur.Gateway.Outputs;
using Polymur.Gateway.Routing;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Routing;

public class RoutingTablesTests
{
    private static DestinationSet Set(Distribution distribution, params string[] names) => IdleDestinations.Create(distribution, names);

    private static DestinationAddress Address(string name) => IdleDestinations.Address(name);

    [Test]
    public async Task The_table_is_built_once_and_shared_until_the_members_change()
    {
        var set = Set(Distribution.CarbonCh, "127.0.0.1:2003", "127.0.0.1:2004");
        var tables = new RoutingTables(set, Distribution.CarbonCh);

        var first = tables.Current;
        await Assert.That(tables.Current).IsSameReferenceAs(first);
        await Assert.That(first.Placement).IsNotNull();
        await Assert.That(first.Destinations.Select(d => d.Name)).IsEquivalentTo(["127.0.0.1:2003", "127.0.0.1:2004"]);

        await Assert.That(set.TryAdd(Address("127.0.0.1:2005"), out _)).IsTrue();
        var second = tables.Current;

        await Assert.That(second).IsNotSameReferenceAs(first);
        await Assert.That(second.Placement).IsNotSameReferenceAs(first.Placement);
        await Assert.That(second.Destinations.Length).IsEqualTo(3);
        await Assert.That(tables.Current).IsSameReferenceAs(second);
    }

    [Test]
    public async Task The_placement_matches_one_built_for_the_same_addresses()
    {
        var set = Set(Distribution.JumpFnv1aCh, "10.0.0.1:2003", "10.0.0.2:2003", "10.0.0.3:2003");
        var table = new RoutingTables(set, Distribution.JumpFnv1aCh).Current;
        var direct = Placements.For(Distribution.JumpFnv1aCh, set.Members.Addresses)!;

        foreach (var path in new[] { "a.b.c", "carbon.agents.x", "prod.web01.cpu" })
        {
            var bytes = System.Text.Encoding.ASCII.GetBytes(path);
            await Assert.That(table.Placement!.DestinationFor(bytes)).IsEqualTo(direct.DestinationFor(bytes));
        }
    }

    [Test]
    public async Task Broadcast_and_a_single_destination_need_no_placement()
    {
        await Assert.That(new RoutingTables(Set(Distribution.Broadcast, "127.0.0.1:2003", "127.0.0.1:2004"), Distribution.Broadcast).Current.Placement).IsNull();
        await Assert.That(new RoutingTables(Set(Distribution.CarbonCh, "127.0.0.1:2003"), Distribution.CarbonCh).Current.Placement).IsNull();
    }
}
