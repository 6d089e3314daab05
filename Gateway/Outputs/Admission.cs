using Polymur.Gateway.Primitives;

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
/// the batch needs; when one is full its part goes to its spool (-spool-dir), and only without a spool, or with
/// a full one, does the request wait (woken by the writers, not by polling) up to -queue-wait, then get 503 so
/// the proxy knows. A connected destination is slow, and spooled for, once its queue has stayed full for
/// <see cref="SpoolGrace"/> or while it has spooled points not yet delivered: a queue that is full only because
/// its writer has not run yet (the common case when the gateway's own core is busy) is waited for, since writing
/// to disk and replaying later costs far more CPU than that short wait. A destination that is down is never
/// waited for: its part is queued while its queue has room, then spooled, and dropped and counted only after
/// that, so one dead carbon cannot stall the others.
/// </summary>
public sealed class Admission(InflightBatches inflight, TimeSpan queueWait)
{
    /// <summary>How long a connected destination's full queue is waited for before its part goes to the spool.</summary>
    public static readonly TimeSpan SpoolGrace = TimeSpan.FromMilliseconds(20);

    /// <summary>Takes a slot for a batch about to be routed. Release it through the batch's onFree.</summary>
    public ValueTask<bool> AcquireSlotAsync(CancellationToken cancel) => inflight.AcquireAsync(queueWait, cancel);

    /// <summary>Queues every delivery of the plan, or none. The plan's references are consumed either way.</summary>
    public async ValueTask<AdmissionResult> QueueAsync(List<Delivery> plan, CancellationToken cancel)
    {
        var start = DateTime.UtcNow;
        var deadline = start + queueWait;
        var graceEnd = start + (SpoolGrace < queueWait ? SpoolGrace : queueWait);
        try
        {
            while (true)
            {
                bool graceOver = DateTime.UtcNow >= graceEnd;
                var full = TryQueueAll(plan, graceOver);
                if (full is null)
                    return AdmissionResult.Accepted;
                var freed = full.Queue.Space.Register();
                if (full.Queue.Points < full.Queue.CapacityPoints || full.Down)
                    continue; // room appeared, or it went down (and is no longer waited for): try again
                // Waiting out the grace, a spool can still take the part; past it, only room in the queue helps.
                bool spoolLater = !graceOver && full.Spool is not null;
                if (!await SpaceSignal.WaitAsync(freed, spoolLater ? graceEnd : deadline, cancel) && !spoolLater)
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

    // What TryQueueAll decided for each delivery of a plan.
    private const byte Down = 0, Reserved = 1, ToSpool = 2;

    /// <summary>
    /// Reserves room on every connected destination; one whose queue is full takes its part in its spool
    /// instead, when it has one with room and is slow (the grace is over, or it is behind on its spool already).
    /// If all have a place, queues the whole plan and returns null, else
    /// undoes its reservations and returns the first destination to wait for. Whether a destination is waited
    /// for is read once, so a reservation is always either used or given back. (A part already spooled when a
    /// later destination turns out to have no room is spooled again on the retry: delivered twice, never lost.)
    /// </summary>
    private static Destination? TryQueueAll(List<Delivery> plan, bool graceOver)
    {
        Span<byte> state = plan.Count <= 256 ? stackalloc byte[plan.Count] : new byte[plan.Count];
        for (int i = 0; i < plan.Count; i++)
        {
            var (destination, batch) = plan[i];
            state[i] = destination.Down ? Down : destination.Queue.TryReserve(batch.Points) ? Reserved : ToSpool;
            if (state[i] == ToSpool && (destination.Spool is null || !(graceOver || destination.Counters.SpoolPending > 0)))
                return Undo(plan, state, i, destination);
        }
        for (int i = 0; i < plan.Count; i++)
        {
            if (state[i] == ToSpool && !plan[i].Destination.TrySpool(plan[i].Batch))
                return Undo(plan, state, plan.Count, plan[i].Destination);
        }
        for (int i = 0; i < plan.Count; i++)
        {
            var (destination, batch) = plan[i];
            if (state[i] == Reserved)
                destination.Commit(batch);
            else if (state[i] == Down)
                destination.Offer(batch); // down: queued while there is room, then spooled, else dropped and counted
        }
        return null;
    }

    private static Destination Undo(List<Delivery> plan, ReadOnlySpan<byte> state, int upTo, Destination full)
    {
        for (int j = 0; j < upTo; j++)
        {
            if (state[j] == Reserved)
                plan[j].Destination.Queue.Unreserve(plan[j].Batch.Points);
        }
        return full;
    }
}
