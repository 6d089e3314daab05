using Polymur.Gateway.Outputs;
using Polymur.Gateway.Primitives;

namespace Polymur.Gateway.Routing;

/// <summary>Decides which destinations get the lines of a parsed batch.</summary>
public interface IBatchRouter
{
    /// <summary>
    /// Adds a delivery per destination that gets lines of <paramref name="batch"/>. Each delivery's batch
    /// carries one reference for the caller, who queues it or releases it.
    /// </summary>
    void Plan(Batch batch, LineIndex index, List<Delivery> plan);

    /// <summary>Whether <see cref="Plan"/> uses a <see cref="LineIndex"/>, so the parser should build one.</summary>
    bool WantsLineIndex { get; }
}
