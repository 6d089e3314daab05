using Polymur.Gateway.Outputs;

namespace Polymur.Gateway.Routing;

/// <summary>Decides which destinations get the lines of a parsed batch, and hands them over.</summary>
public interface IBatchRouter
{
    /// <summary>Offers the batch's lines to their destinations. The caller keeps (and later releases) its own reference.</summary>
    void Route(Batch batch);
}
