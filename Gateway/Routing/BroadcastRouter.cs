using Polymur.Gateway.Outputs;
using Polymur.Gateway.Primitives;

namespace Polymur.Gateway.Routing;

/// <summary>Every line to every destination: the same pooled batch goes into each queue, by reference.</summary>
public sealed class BroadcastRouter(RoutingTables tables) : IBatchRouter
{
    public bool WantsLineIndex => false;

    public void Plan(Batch batch, LineIndex index, List<Delivery> plan)
    {
        foreach (var destination in tables.Current.Destinations)
        {
            batch.Retain(1);
            plan.Add(new Delivery(destination, batch));
        }
    }
}
