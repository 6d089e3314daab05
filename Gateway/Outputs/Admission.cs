using Polymur.Gateway.Routing;

namespace Polymur.Gateway.Outputs;

/// <summary>Why a batch was not taken.</summary>
public enum AdmissionResult
{
    Accepted,

    /// <summary>-incoming-queue-cap batches were in flight for the whole wait.</summary>
    InflightFull,

    /// <summary>A connected destination's queue stayed full for the whole wait.</summary>
    QueuesFull,
}

/// <summary>
/// Back-pressure: a batch is queued whole or not at all. Room is reserved on every connected destination
/// the batch needs; when one is full, the request waits (woken by the writers, not by polling) up to
/// -queue-wait, then is refused with 503 so the proxy knows. A destination that is down is never waited
/// for: its part is queued while its queue has room, and dropped and counted after that, so one dead
/// carbon cannot stall the others.
/// </summary>
public sealed class Admission(InflightBatches inflight, TimeSpan queueWait)
{
    /// <summary>Takes a slot for a batch about to be routed. Release it through the batch's onFree.</summary>
    public ValueTask<bool> AcquireSlotAsync(CancellationToken cancel) => inflight.AcquireAsync(queueWait, cancel);

    /// <summary>Queues every delivery of the plan, or none. The plan's references are consumed either way.</summary>
    public async ValueTask<AdmissionResult> QueueAsync(List<Delivery> plan, CancellationToken cancel)
    {
        var deadline = DateTime.UtcNow + queueWait;
        try
        {
            while (true)
            {
                var full = TryQueueAll(plan);
                if (full is null)
                    return AdmissionResult.Accepted;
                var freed = full.Queue.Space.Register();
                if (full.Queue.Points < full.Queue.CapacityPoints || full.Down)
                    continue; // room appeared, or it went down (and is no longer waited for): try again
                if (!await WaitAsync(freed, deadline, cancel))
                    return AdmissionResult.QueuesFull;
            }
        }
        finally
        {
            foreach (var delivery in plan)
                delivery.Batch.Release();
            plan.Clear();
        }
    }

    /// <summary>
    /// Reserves room on every connected destination; if all have room, queues the whole plan and returns
    /// null, else undoes its reservations and returns the first full destination. Whether a destination is
    /// waited for is read once, so a reservation is always either used or given back.
    /// </summary>
    private static Destination? TryQueueAll(List<Delivery> plan)
    {
        Span<bool> reserved = plan.Count <= 256 ? stackalloc bool[plan.Count] : new bool[plan.Count];
        for (int i = 0; i < plan.Count; i++)
        {
            var (destination, batch) = plan[i];
            if (destination.Down)
                continue;
            if (!destination.Queue.TryReserve(batch.Points))
            {
                for (int j = 0; j < i; j++)
                {
                    if (reserved[j])
                        plan[j].Destination.Queue.Unreserve(plan[j].Batch.Points);
                }
                return destination;
            }
            reserved[i] = true;
        }
        for (int i = 0; i < plan.Count; i++)
        {
            var (destination, batch) = plan[i];
            if (reserved[i])
                destination.Commit(batch);
            else
                destination.Offer(batch); // down: queued while there is room, else dropped and counted
        }
        return null;
    }

    private static async ValueTask<bool> WaitAsync(Task freed, DateTime deadline, CancellationToken cancel)
    {
        var left = deadline - DateTime.UtcNow;
        if (left <= TimeSpan.Zero)
            return false;
        try
        {
            await freed.WaitAsync(left, cancel);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }
}
