using Polymur.Gateway.Primitives;
using Polymur.Gateway.Spool;

namespace Polymur.Gateway.Outputs;

/// <summary>Why a batch was not taken.</summary>
public enum AdmissionResult
{
    Accepted,

    /// <summary>-incoming-queue-cap batches were in flight for the whole wait.</summary>
    InflightFull,

    /// <summary>A connected destination's queue stayed full for the whole wait.</summary>
    QueuesFull,

    /// <summary>A destination needed its spool (down, or slow past the wait) and the spool is at -spool-max-size.</summary>
    SpoolFull,

    /// <summary>A destination needed its spool and the disk refused the write (ENOSPC, EIO, read-only).</summary>
    SpoolFailed,
}

/// <summary>
/// Back-pressure: a batch is queued whole or not at all. A destination that is down is never waited for and,
/// with a spool (-spool-dir), its part goes to the spool at once, never into memory, so that SIGKILL during an
/// outage loses nothing answered 200. Room (points and buffer bytes) is reserved on every destination that is
/// up; when one is full its part goes to its spool too, once the destination counts as slow: its queue has
/// stayed full for <see cref="SpoolGrace"/>, or it has spooled points not yet delivered. A queue that is full
/// only because its writer has not run yet (the common case when the gateway's own core is busy) is waited
/// for that long, since writing to disk and replaying later costs far more CPU than that short wait. Without a
/// spool, the request waits (woken by the writers, not by polling) up to -queue-wait, then gets 503, and a down
/// destination's part is queued while its queue has room, then dropped and counted, so one dead carbon cannot
/// stall the others. When a spool cannot take a part it needs, the batch is refused (503 with Retry-After),
/// never answered 200 and dropped: at once for a down destination, after -queue-wait for a slow one.
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
        bool[]? spooled = null; // parts spooled by an attempt that was undone: not spooled again by this request
        SpoolAppend? spoolRefused = null;
        try
        {
            while (true)
            {
                bool graceOver = DateTime.UtcNow >= graceEnd;
                var attempt = TryQueueAll(plan, graceOver, ref spooled);
                if (attempt.Blocking is not { } full)
                    return AdmissionResult.Accepted;
                if (attempt.Refused is { } refused)
                {
                    spoolRefused = refused;
                    if (full.Down)
                        return Refuse(full, plan, refused); // waiting cannot help: its spool is its only place
                }
                var part = attempt.Part!;
                var freed = full.Queue.Space.Register();
                if (!full.Queue.IsFullFor(part) || full.Down)
                    continue; // room appeared, or it went down (and is no longer waited for): try again
                // Waiting out the grace, a spool can still take the part; past it, only room in the queue helps.
                bool spoolLater = !graceOver && full.Spool is not null;
                bool woken;
                full.Queue.BeginWait(part); // a waiting tenant is active there: the others' share makes room for it
                try
                {
                    woken = await SpaceSignal.WaitAsync(freed, spoolLater ? graceEnd : deadline, cancel);
                }
                finally
                {
                    full.Queue.EndWait(part);
                }
                if (!woken && !spoolLater)
                    return spoolRefused is { } last ? Refuse(full, plan, last) : AdmissionResult.QueuesFull;
            }
        }
        finally
        {
            foreach (var delivery in plan)
                delivery.Batch.Release();
            plan.Clear();
        }
    }

    private static AdmissionResult Refuse(Destination destination, List<Delivery> plan, SpoolAppend refused)
    {
        foreach (var delivery in plan)
        {
            if (delivery.Destination == destination)
                destination.Refused(delivery.Batch);
        }
        return refused == SpoolAppend.Full ? AdmissionResult.SpoolFull : AdmissionResult.SpoolFailed;
    }

    /// <summary>What one attempt at the whole plan came to: queued (no blocking destination), or who stopped it and with which part.</summary>
    private readonly record struct Attempt(Destination? Blocking, SpoolAppend? Refused, Batch? Part);

    // What TryQueueAll decided for each delivery of a plan.
    private const byte DownOffer = 0, Reserved = 1, ToSpool = 2, Spooled = 3, Done = 4;

    /// <summary>
    /// Spools the part of every down destination that has a spool, reserves room on every destination that is
    /// up, and spools the part of one whose queue is full when it has a spool and is slow (the grace is over, or
    /// it is behind on its spool already). If all have a place, queues the whole plan and returns no blocking
    /// destination, else undoes its reservations and returns the destination that stopped it (with the spool's
    /// answer when its spool refused). Whether a destination is down or waited for is read once, so a reservation
    /// is always either used or given back. Parts spooled by an undone attempt are marked in
    /// <paramref name="spooled"/> and kept: a spool cannot take a record back. If the batch is refused in the end,
    /// such a part is delivered, and the sender's retry delivers it twice, never lost.
    /// </summary>
    private static Attempt TryQueueAll(List<Delivery> plan, bool graceOver, ref bool[]? spooled)
    {
        Span<byte> state = plan.Count <= 256 ? stackalloc byte[plan.Count] : new byte[plan.Count];
        for (int i = 0; i < plan.Count; i++)
        {
            var (destination, batch) = plan[i];
            if (spooled is not null && spooled[i])
                state[i] = Done;
            else if (destination.Down)
                state[i] = destination.CanSpool ? ToSpool : DownOffer;
            else if (destination.Queue.TryReserve(batch))
                state[i] = Reserved;
            else if (destination.Spool is not null && (graceOver || destination.Counters.SpoolPending > 0))
                state[i] = ToSpool;
            else
                return Undo(plan, state, i, new Attempt(destination, null, batch), ref spooled);
        }
        for (int i = 0; i < plan.Count; i++)
        {
            if (state[i] != ToSpool)
                continue;
            var result = plan[i].Destination.TrySpool(plan[i].Batch);
            if (result != SpoolAppend.Appended)
                return Undo(plan, state, plan.Count, new Attempt(plan[i].Destination, result, plan[i].Batch), ref spooled);
            state[i] = Spooled;
        }
        for (int i = 0; i < plan.Count; i++)
        {
            var (destination, batch) = plan[i];
            if (state[i] == Reserved)
                destination.Commit(batch);
            else if (state[i] == DownOffer)
                destination.Offer(batch); // down, no spool: queued while there is room, else dropped and counted
        }
        return default;
    }

    private static Attempt Undo(List<Delivery> plan, ReadOnlySpan<byte> state, int upTo, Attempt blocked, ref bool[]? spooled)
    {
        for (int j = 0; j < upTo; j++)
        {
            if (state[j] == Reserved)
                plan[j].Destination.Queue.Unreserve(plan[j].Batch);
            else if (state[j] == Spooled)
                (spooled ??= new bool[plan.Count])[j] = true;
        }
        return blocked;
    }
}
