using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Logging;
using Polymur.Gateway.Outputs;
using Polymur.Gateway.Parsing;
using Polymur.Gateway.Primitives;
using Polymur.Gateway.Routing;
using Polymur.Gateway.Telemetry;
using Polymur.Gateway.Tenants;

namespace Polymur.Gateway.Ingest.Plaintext;

/// <summary>
/// Takes a read's complete lines into the queues the way /ingest takes a batch: the same parser, the tenant's
/// quota and share, the dispatcher and the counters. It never refuses. While the gateway cannot take the lines
/// (queues full, a spool that cannot take them, no batch memory, the tenant's share or quota spent) it waits and tries again, and the connection
/// reads nothing meanwhile, so TCP's own window holds the sender back, as in carbon-c-relay.
/// </summary>
internal sealed partial class PlaintextIntake(
    TenantRegistry tenants,
    BatchParser parser,
    BatchDispatcher dispatcher,
    BufferPool buffers,
    IngestCounters counters,
    PlaintextCounters tcp,
    PlaintextOptions options,
    ILogger<PlaintextIntake> log)
{
    private readonly LogLimiter _stallLog = new(TimeSpan.FromSeconds(10));
    private readonly LogLimiter _stallEndLog = new(TimeSpan.FromSeconds(10));
    private readonly LogLimiter _unfinishedLog = new(TimeSpan.FromSeconds(10));

    /// <summary>
    /// Waiting out a writer that has not run yet is not a stall; past the time the queues grant a slow destination
    /// before spooling for it, the connection has stopped reading for a reason.
    /// </summary>
    public static TimeSpan StallThreshold => Admission.SpoolGrace;

    /// <summary>How long a read whose destination's spool refused it waits before it is tried again.</summary>
    internal static readonly TimeSpan SpoolRetryPause = TimeSpan.FromMilliseconds(200);

    public PlaintextCounters Counters => tcp;

    /// <summary>A connection ended in the middle of a line: the line is dropped (it may be cut short), counted and logged.</summary>
    internal void DroppedUnfinished(string peer, ConnectionEnd end)
    {
        tcp.AddPartialDropped();
        if (_unfinishedLog.TryEnter(out long suppressed))
            LogUnfinishedDropped(peer, end switch
            {
                ConnectionEnd.Closed => "the sender closed",
                ConnectionEnd.Idle => "it was idle for -tcp-idle-timeout",
                ConnectionEnd.Evicted => "it was closed to make room (-tcp-max-connections)",
                ConnectionEnd.Stopping => "the gateway is stopping",
                _ => "the connection was reset",
            }, suppressed);
    }

    /// <summary>
    /// Queues <c>raw[..length]</c>, which ends at a line's end, waiting as long as it takes. The caller keeps
    /// <paramref name="raw"/>. <paramref name="skippedTooLong"/> lines the connection dropped unread are counted
    /// with these. Cancelled only by the gateway's stop.
    /// </summary>
    public async ValueTask DeliverAsync(byte[] raw, int length, int skippedTooLong, IPAddress? peer, CancellationToken cancel)
    {
        long start = Stopwatch.GetTimestamp();
        var last = Outcome.Queued;
        while (true)
        {
            var tenant = tenants.Get(options.Tenant);
            var outcome = await TryDeliverAsync(tenant, raw, length, skippedTooLong, peer, cancel);
            if (outcome == Outcome.Queued)
                break;
            if (outcome == Outcome.TooLarge && await TryDeliverInHalvesAsync(raw, length, skippedTooLong, peer, cancel))
                break;
            if (last == Outcome.Queued && _stallLog.TryEnter(out long suppressed))
                LogStalled(peer?.ToString() ?? "?", Reason(outcome), suppressed);
            last = outcome;
        }
        var took = Stopwatch.GetElapsedTime(start);
        if (last != Outcome.Queued || took > StallThreshold)
        {
            tcp.AddStall();
            tcp.AddStalled(took);
            if (took >= TimeSpan.FromSeconds(1) && _stallEndLog.TryEnter(out long suppressed))
                LogStallEnded(peer?.ToString() ?? "?", took.TotalSeconds, Reason(last), suppressed);
        }
    }

    // -key-prefix made the read pass -max-batch-size: queue it in two halves, split at a line's end.
    private async ValueTask<bool> TryDeliverInHalvesAsync(byte[] raw, int length, int skippedTooLong, IPAddress? peer, CancellationToken cancel)
    {
        int half = Array.LastIndexOf(raw, (byte)'\n', length / 2) + 1;
        if (half <= 0)
            half = Array.IndexOf(raw, (byte)'\n', length / 2, length - length / 2) + 1;
        if (half <= 0 || half >= length)
            return false;
        await DeliverAsync(raw, half, skippedTooLong, peer, cancel);
        await DeliverAsync(raw[half..length], length - half, 0, peer, cancel);
        return true;
    }

    private async ValueTask<Outcome> TryDeliverAsync(Tenant tenant, byte[] raw, int length, int skippedTooLong, IPAddress? peer, CancellationToken cancel)
    {
        if (tenant.Bucket.IsSpent(out var spentFor))
        {
            await Task.Delay(spentFor, cancel);
            return Outcome.OverQuota;
        }
        if (!await tenant.Share.AcquireAsync(options.QueueWait, cancel))
            return Outcome.ShareSpent;
        bool handedOver = false;
        try
        {
            var returned = buffers.Returned.Register();
            if (!TryParse(raw, length, tenant.Name, out var lines, out var sample))
            {
                await SpaceSignal.WaitAsync(returned, DateTime.UtcNow + options.QueueWait, cancel);
                return Outcome.NoMemory;
            }
            if (lines.Overflowed)
            {
                lines.ReturnTo(buffers);
                return Outcome.TooLarge;
            }
            var counts = lines.Counts;
            if (!tenant.Bucket.TryTake(counts.Valid, out var retryAfter))
            {
                lines.ReturnTo(buffers);
                tenant.Share.Release();
                handedOver = true;
                await Task.Delay(retryAfter, cancel);
                return Outcome.OverQuota;
            }
            handedOver = true;
            var result = await dispatcher.DispatchAsync(lines.Lines, lines.Length, counts.Valid, lines.Index, tenant.Share, cancel);
            switch (result)
            {
                case DispatchResult.NoDestinations:
                    await Task.Delay(options.QueueWait, cancel);
                    return Outcome.NoDestinations;
                case DispatchResult.Busy:
                    return Outcome.Busy;
                case DispatchResult.QueuesFull:
                    return Outcome.QueuesFull;
                case DispatchResult.SpoolFull or DispatchResult.SpoolFailed:
                    // Refused at once (a down destination's spool is its only place): pause before trying again, and
                    // read nothing meanwhile, so the sender is held back by TCP instead of its lines being dropped.
                    await Task.Delay(SpoolRetryPause, cancel);
                    return Outcome.SpoolFull;
            }
            long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            counters.AddAccepted(counts.Valid, counts.Invalid, counts.TooLong + skippedTooLong);
            tenant.Counters.AddBytes(length, length);
            tenant.Counters.AddAccepted(counts.Valid, counts.Invalid, counts.TooLong + skippedTooLong, now);
            tenant.Clients.Seen(peer, null, now);
            if (sample is not null)
                tenant.Rejects.Add(sample with { TimeUnixMs = now });
            return Outcome.Queued;
        }
        finally
        {
            if (!handedOver)
                tenant.Share.Release();
        }
    }

    private bool TryParse(byte[] raw, int length, string tenant, out ParsedLines lines, out RejectSample? sample)
    {
        Span<byte> room = stackalloc byte[RejectedLine.MaxBytes];
        var rejected = new RejectedLine(room);
        bool parsed = parser.TryParseCopy(raw.AsSpan(0, length), tenant, ref rejected, out lines);
        sample = parsed && rejected.Taken ? new RejectSample(0, RejectedLine.Describe(rejected.Fault, options.MaxLineLength), rejected.Text()) : null;
        return parsed;
    }

    private static string Reason(Outcome outcome) => outcome switch
    {
        Outcome.OverQuota => "the tenant is over its rate limit (-tenant-rate-limit)",
        Outcome.ShareSpent => "the tenant has its share of batches in flight (-tenant-max-inflight)",
        Outcome.NoMemory => "no batch memory (-max-batch-memory)",
        Outcome.NoDestinations => "no destinations",
        Outcome.Busy => "batches in flight at the cap (-incoming-queue-cap)",
        Outcome.QueuesFull => "destination queues full",
        Outcome.SpoolFull => "a destination's spool cannot take them (-spool-max-size, or the disk)",
        Outcome.TooLarge => "a read too large to queue whole (-max-batch-size)",
        _ => "waiting for room in the destination queues",
    };

    private enum Outcome
    {
        Queued,
        OverQuota,
        ShareSpent,
        NoMemory,
        TooLarge,
        NoDestinations,
        Busy,
        QueuesFull,
        SpoolFull,
    }
}
