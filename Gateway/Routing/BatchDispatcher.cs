using Polymur.Gateway.Outputs;
using Polymur.Gateway.Primitives;

namespace Polymur.Gateway.Routing;

/// <summary>What became of lines handed to <see cref="BatchDispatcher.DispatchAsync"/>.</summary>
public enum DispatchResult
{
    /// <summary>In every destination queue (or spool) the router chose: the caller may answer 200.</summary>
    Queued,

    /// <summary>There are no points to route (an empty or all-invalid batch); nothing was queued.</summary>
    Empty,

    /// <summary>No destination is configured.</summary>
    NoDestinations,

    /// <summary>-incoming-queue-cap batches stayed in flight for the whole wait.</summary>
    Busy,

    /// <summary>A destination's queue stayed full for the whole wait.</summary>
    QueuesFull,
}

/// <summary>
/// The one way lines enter the queues, for requests and for the gateway's own metrics alike: take an in-flight
/// slot, wrap the lines in a batch that frees the slot once every destination is done with it, let the router
/// plan the deliveries, and queue them all or none. Owns the lines' buffer from the call on, whatever the result.
/// </summary>
public sealed class BatchDispatcher(IBatchRouter router, DestinationSet destinations, Admission admission, InflightBatches inflight, BufferPool buffers)
{
    /// <summary>-incoming-queue-cap, for the caller's answer when it is <see cref="DispatchResult.Busy"/>.</summary>
    public int SlotCapacity => inflight.Capacity;

    public async ValueTask<DispatchResult> DispatchAsync(byte[] lines, int length, int points, CancellationToken cancel)
    {
        if (points == 0)
        {
            buffers.Return(lines);
            return DispatchResult.Empty;
        }
        int targets = destinations.Current.Length;
        if (targets == 0)
        {
            buffers.Return(lines);
            return DispatchResult.NoDestinations;
        }
        if (!await admission.AcquireSlotAsync(cancel))
        {
            buffers.Return(lines);
            return DispatchResult.Busy;
        }
        var batch = new Batch(lines, length, points, buffers, inflight.Release);
        var plan = new List<Delivery>(targets);
        router.Plan(batch, plan);
        batch.Release(); // each delivery holds its own reference now
        return await admission.QueueAsync(plan, cancel) == AdmissionResult.Accepted ? DispatchResult.Queued : DispatchResult.QueuesFull;
    }
}
