using Polymur.Gateway.Outputs;

namespace Polymur.Gateway.Routing;

/// <summary>Every line to every destination: the same pooled batch goes into each queue, by reference.</summary>
public sealed class BroadcastRouter(DestinationSet destinations) : IBatchRouter
{
    public void Route(Batch batch)
    {
        foreach (var destination in destinations.Current)
            destination.Offer(batch);
    }
}
