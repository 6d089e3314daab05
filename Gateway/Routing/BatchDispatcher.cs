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

    /// <summary>A destination needed its spool (it is down, or slow) and the spool is at -spool-max-size.</summary>
    SpoolFull,

    /// <summary>A destination needed its spool and the disk refused the write.</summary>
    SpoolFailed,
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

    /// <summary>Whether the router reads a <see cref="LineIndex"/>; without one, the parser need not build it.</summary>
    public bool WantsLineIndex => router.WantsLineIndex;

    public ValueTask<DispatchResult> DispatchAsync(byte[] lines, int length, int points, CancellationToken cancel) =>
        DispatchAsync(lines, length, points, default, null, cancel);

    /// <summary>
    /// Also owns <paramref name="index"/>'s buffer, which goes back to the pool once the plan is made, and
    /// <paramref name="share"/>'s slot (a tenant's, taken by the caller), which is freed with the batch's.
    /// </summary>
    public async ValueTask<DispatchResult> DispatchAsync(byte[] lines, int length, int points, LineIndex index, InflightBatches? share, CancellationToken cancel)
    {
        DispatchResult? refusal = points == 0 ? DispatchResult.Empty
            : destinations.Current.Length == 0 ? DispatchResult.NoDestinations
            : !await admission.AcquireSlotAsync(cancel) ? DispatchResult.Busy
            : null;
        if (refusal is { } result)
        {
            index.ReturnTo(buffers);
            buffers.Return(lines);
            share?.Release();
            return result;
        }
        var batch = new Batch(lines, length, points, buffers, share is null ? inflight.Release : () =>
        {
            inflight.Release();
            share.Release();
        }, share);
        var plan = new List<Delivery>(destinations.Current.Length);
        router.Plan(batch, index, plan);
        index.ReturnTo(buffers);
        batch.Release(); // each delivery holds its own reference now
        return await admission.QueueAsync(plan, cancel) switch
        {
            AdmissionResult.Accepted => DispatchResult.Queued,
            AdmissionResult.SpoolFull => DispatchResult.SpoolFull,
            AdmissionResult.SpoolFailed => DispatchResult.SpoolFailed,
            _ => DispatchResult.QueuesFull,
        };
    }
}
