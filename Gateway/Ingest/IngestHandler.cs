using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Polymur.Gateway.Primitives;
using Polymur.Gateway.Keys;
using Polymur.Gateway.Outputs;
using Polymur.Gateway.Parsing;
using Polymur.Gateway.Routing;
using Polymur.Gateway.Telemetry;
using Polymur.Gateway.Tenants;

namespace Polymur.Gateway.Ingest;

/// <summary>
/// <c>/ping</c> and <c>/ingest</c>, with the status codes and bodies a polymur-proxy reads (README, wire
/// compatibility). The key is checked before any of the body is read. A batch is answered 200 only once its lines are in the destination queues.
/// </summary>
internal sealed partial class IngestHandler(
    IKeyCache keys,
    TenantRegistry tenants,
    GzipBatchDecoder decoder,
    BufferPool buffers,
    BatchParser parser,
    BatchDispatcher dispatcher,
    DecodeSlots decodeSlots,
    IngestCounters counters,
    IngestOptions options,
    ClientCertificates? clientCertificates,
    ILogger<IngestHandler> log)
{
    // Each line a client can trigger at will is rate-limited, so no client can flood the log.
    private readonly LogLimiter _refusalLog = new(TimeSpan.FromSeconds(5));
    private readonly LogLimiter _pingLog = new(TimeSpan.FromSeconds(5));
    private readonly LogLimiter _malformedLog = new(TimeSpan.FromSeconds(5));
    private readonly LogLimiter _quotaLog = new(TimeSpan.FromSeconds(5));
    private readonly LogLimiter _busyLog = new(TimeSpan.FromSeconds(5));

    public Task PingAsync(HttpContext context)
    {
        if (!TryAuthorize(context, out string keyName))
            return RefuseKeyAsync(context);
        if (_pingLog.TryEnter(out long suppressed))
            LogPing(ClientAddress.Peer(context), ClientAddress.Forwarded(context), keyName, suppressed);
        return Responses.WriteAsync(context, StatusCodes.Status200OK, Responses.KeyValid);
    }

    public async Task IngestAsync(HttpContext context)
    {
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            await IngestTimedAsync(context);
        }
        finally
        {
            counters.Latency.Observe(start);
        }
    }

    private async Task IngestTimedAsync(HttpContext context)
    {
        if (!TryAuthorize(context, out string keyName))
        {
            await RefuseKeyAsync(context);
            return;
        }
        var tenant = tenants.Get(keyName);
        if (context.Request.ContentLength > options.MaxBodySize)
        {
            await RefuseAsync(context, tenant, StatusCodes.Status413PayloadTooLarge, $"request body over {options.MaxBodySize} bytes (-max-body-size)\n", close: true);
            return;
        }
        // A batch its tenant's bucket cannot cover, on its points guessed from its size, is refused before its body
        // is read: flooding past a quota costs no inflating. The guess stays reserved until the batch is counted.
        if (!QuotaClaim.TryOpen(tenant, context.Request.ContentLength, out var quota, out var spentFor))
        {
            await HoldThenRefuseOverQuotaAsync(context, tenant, spentFor);
            return;
        }
        // The tenant's share is taken before the body is read: a tenant past it waits here, costing nothing
        // but its connection, and leaves the decoders and the in-flight slots to the others.
        bool shared;
        try
        {
            shared = await tenant.Share.AcquireAsync(options.QueueWait, context.RequestAborted);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            quota.Release();
            return;
        }
        if (!shared)
        {
            quota.Release();
            await RefuseAsync(context, tenant, StatusCodes.Status503ServiceUnavailable, $"tenant {keyName} has {tenant.Share.Capacity} batches in flight for {options.QueueWait.TotalSeconds:0.###}s (-tenant-max-inflight)\n");
            return;
        }
        bool handedOver = false;
        try
        {
            handedOver = await IngestSharedAsync(context, tenant, quota);
        }
        finally
        {
            if (!handedOver)
                tenant.Share.Release();
            quota.Release(); // nothing once the batch was charged
        }
    }

    /// <summary>The batch, read, checked and queued under the tenant's share. True once the share went with the batch.</summary>
    private async Task<bool> IngestSharedAsync(HttpContext context, Tenant tenant, QuotaClaim quota)
    {
        var request = context.Request;
        string keyName = tenant.Name;
        if (await DecodeAsync(context, tenant) is not { } decoded)
            return false;
        tenant.Counters.AddBytes(decoded.CompressedLength, decoded.Length);

        Span<byte> rejectedRoom = stackalloc byte[RejectedLine.MaxBytes];
        var rejected = new RejectedLine(rejectedRoom);
        var lines = parser.Parse(decoded, keyName, ref rejected);
        ParseCounts parsed = lines.Counts;
        if (lines.Overflowed)
        {
            lines.ReturnTo(buffers);
            await RefuseAsync(context, tenant, StatusCodes.Status413PayloadTooLarge, $"batch over {options.MaxBatchSize} bytes with the key prefix (-max-batch-size)\n");
            return false;
        }
        if (!quota.TryCharge(parsed.Valid, decoded.CompressedLength, out var retryAfter))
        {
            lines.ReturnTo(buffers);
            await RefuseOverQuotaAsync(context, tenant, retryAfter);
            return false;
        }
        var sample = rejected.Taken ? new RejectSample(0, RejectedLine.Describe(rejected.Fault, options.MaxLineLength), rejected.Text()) : null;
        var dispatched = await dispatcher.DispatchAsync(lines.Lines, lines.Length, parsed.Valid, lines.Index, tenant.Share, context.RequestAborted);
        if (Refusal(dispatched) is { } refusal)
        {
            // A spool that cannot take a part is a lasting state (a disk to free, an outage to end): say when to
            // come back. The refusals are counted and logged per destination (DestinationSet).
            if (dispatched is DispatchResult.SpoolFull or DispatchResult.SpoolFailed)
                context.Response.Headers.RetryAfter = Responses.SpoolRetryAfterSeconds;
            await RefuseAsync(context, tenant, StatusCodes.Status503ServiceUnavailable, refusal);
            return true;
        }
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        counters.AddAccepted(parsed.Valid, parsed.Invalid, parsed.TooLong);
        tenant.Counters.AddAccepted(parsed.Valid, parsed.Invalid, parsed.TooLong, now);
        tenant.Clients.Seen(context.Connection.RemoteIpAddress, request.Headers["X-Forwarded-For"], now);
        if (sample is not null)
            tenant.Rejects.Add(sample with { TimeUnixMs = now });
        if (log.IsEnabled(LogLevel.Debug))
            LogBatch(ClientAddress.Peer(context), ClientAddress.Forwarded(context), keyName, parsed.Valid, parsed.Invalid + parsed.TooLong, decoded.Members);
        await Responses.WriteAsync(context, StatusCodes.Status200OK, Responses.BatchReceived);
        return true;
    }

    /// <summary>
    /// The body, read whole (waiting for memory up to -queue-wait), then inflated under a decode slot (waited for
    /// up to -queue-wait): the slot is never held while the body is still coming, so streams of one HTTP/2
    /// connection whose DATA waits behind each other cannot starve the decoders (WebHost bounds the windows so
    /// that every stream can always finish its body). Null when the request was answered, or its client went away.
    /// </summary>
    private async Task<DecodedBatch?> DecodeAsync(HttpContext context, Tenant tenant)
    {
        PendingBatch pending;
        try
        {
            pending = await decoder.ReadAsync(context.Request.BodyReader, context.Request.ContentLength, context.RequestAborted);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            await RefuseAsync(context, tenant, StatusCodes.Status413PayloadTooLarge, $"request body over {options.MaxBodySize} bytes (-max-body-size)\n", close: true);
            return null;
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status408RequestTimeout)
        {
            // Kestrel's minimum body data rate: a body dribbled in (slow loris) is cut off.
            await RefuseAsync(context, tenant, StatusCodes.Status408RequestTimeout, "request body too slow\n", close: true);
            return null;
        }
        catch (Exception) when (context.RequestAborted.IsCancellationRequested)
        {
            return null; // The client went away; it has no batch to be told about.
        }
        catch (Exception e) when (e is BadHttpRequestException or IOException)
        {
            // The body itself was broken on the wire: bad chunking (Kestrel reports a chunk size past 2^63 as an
            // IOException), or shorter than its Content-Length. The connection cannot be trusted after it.
            if (_malformedLog.TryEnter(out long suppressed))
                LogBrokenBody(ClientAddress.Peer(context), ClientAddress.Forwarded(context), tenant.Name, e.Message, suppressed);
            await RefuseAsync(context, tenant, StatusCodes.Status400BadRequest, Responses.BatchMalformed, close: true);
            return null;
        }
        if (pending.Status == DecodeStatus.NoMemory)
        {
            // The body may be partly unread: an HTTP/1.1 connection is closed rather than drained.
            await RefuseBusyAsync(context, tenant, $"gateway busy: {buffers.InUseBytes} bytes of batches held for {options.QueueWait.TotalSeconds:0.###}s (-max-batch-memory)\n", close: true);
            return null;
        }
        if (pending.Status == DecodeStatus.Malformed)
        {
            await RefuseMalformedAsync(context, tenant);
            return null;
        }
        DecodedBatch decoded;
        try
        {
            if (!await decodeSlots.EnterAsync(options.QueueWait, context.RequestAborted))
            {
                pending.Release();
                await RefuseBusyAsync(context, tenant, $"gateway busy: all {decodeSlots.Capacity} decoders busy for {options.QueueWait.TotalSeconds:0.###}s (-max-concurrent-decodes)\n");
                return null;
            }
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            pending.Release();
            return null;
        }
        try
        {
            decoded = await decoder.InflateAsync(pending, context.RequestAborted);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            return null; // InflateAsync gave the buffers back.
        }
        finally
        {
            decodeSlots.Exit();
        }
        switch (decoded.Status)
        {
            case DecodeStatus.Malformed:
                await RefuseMalformedAsync(context, tenant);
                return null;
            case DecodeStatus.TooLarge:
                await RefuseAsync(context, tenant, StatusCodes.Status413PayloadTooLarge, $"batch over {options.MaxBatchSize} bytes after gunzip (-max-batch-size)\n");
                return null;
            case DecodeStatus.NoMemory:
                await RefuseBusyAsync(context, tenant, $"gateway busy: {buffers.InUseBytes} bytes of batches held for {options.QueueWait.TotalSeconds:0.###}s (-max-batch-memory)\n");
                return null;
        }
        return decoded;
    }

    /// <summary>Why a dispatch was not queued (a 503 body), or null when it was (or there was nothing to route).</summary>
    private string? Refusal(DispatchResult result) => result switch
    {
        DispatchResult.NoDestinations => "no destinations to deliver to\n",
        DispatchResult.Busy => $"gateway busy: {dispatcher.SlotCapacity} batches in flight (-incoming-queue-cap)\n",
        DispatchResult.QueuesFull => $"destination queues full for {options.QueueWait.TotalSeconds:0.###}s (-queue-wait)\n",
        DispatchResult.SpoolFull => Responses.SpoolFull,
        DispatchResult.SpoolFailed => Responses.SpoolFailed,
        _ => null, // queued, or nothing to route (a proxy's idle flush, an all-invalid batch)
    };

    private bool TryAuthorize(HttpContext context, out string keyName)
    {
        string? key = PresentedKey.Read(context.Request.Headers, out string shown);
        // A verified client certificate names a tenant; a key sent beside it must name the same one.
        string? certified = clientCertificates?.TenantOf(context);
        if (key is not null)
        {
            if (keys.TryGetName(key, out keyName) && (certified is null || certified == keyName))
                return true;
        }
        else if (certified is not null && keys.HasName(certified))
        {
            keyName = certified;
            return true;
        }
        keyName = "";
        if (_refusalLog.TryEnter(out long suppressed))
            LogInvalidKey(ClientAddress.Peer(context), ClientAddress.Forwarded(context), KeyRedaction.Redact(shown), suppressed);
        return false;
    }

    // The seed says a proxy with a bad key is "disconnected": answer, then close the connection.
    private Task RefuseKeyAsync(HttpContext context)
    {
        counters.AddRefused(StatusCodes.Status401Unauthorized);
        return Responses.WriteAsync(context, StatusCodes.Status401Unauthorized, Responses.InvalidKey, close: true);
    }

    private Task RefuseAsync(HttpContext context, Tenant tenant, int status, string body, bool close = false) =>
        RefuseAsync(context, tenant, status, Encoding.UTF8.GetBytes(body), close);

    private Task RefuseAsync(HttpContext context, Tenant tenant, int status, byte[] body, bool close = false)
    {
        counters.AddRefused(status);
        tenant.Counters.AddRefused(status);
        return Responses.WriteAsync(context, status, body, close);
    }

    private Task RefuseMalformedAsync(HttpContext context, Tenant tenant)
    {
        if (_malformedLog.TryEnter(out long suppressed))
            LogMalformed(ClientAddress.Peer(context), ClientAddress.Forwarded(context), tenant.Name, suppressed);
        return RefuseAsync(context, tenant, StatusCodes.Status400BadRequest, Responses.BatchMalformed);
    }

    // 503 for a wait that ran out (memory, decoders): busy for a moment, so Retry-After says to come back soon.
    private Task RefuseBusyAsync(HttpContext context, Tenant tenant, string body, bool close = false)
    {
        context.Response.Headers.RetryAfter = Responses.BusyRetryAfterSeconds;
        if (_busyLog.TryEnter(out long suppressed))
            LogBusy(ClientAddress.Peer(context), tenant.Name, body.TrimEnd('\n'), suppressed);
        return RefuseAsync(context, tenant, StatusCodes.Status503ServiceUnavailable, body, close);
    }

    /// <summary>
    /// How long a batch refused unread waits for its 429, at most. A client that ignores Retry-After comes straight
    /// back, and each request still costs its headers and Kestrel discarding its unread body (50 connections of
    /// 132 KB batches: 4,000 requests a second, half of the gateway's core). Held, a request costs only its
    /// connection (whose buffers are bounded, -max-connections), so a flood's refusals are bounded by its
    /// connections. Never past Retry-After: a client that honours it would have waited longer anyway.
    /// </summary>
    private static readonly TimeSpan QuotaHold = TimeSpan.FromSeconds(1);

    private async Task HoldThenRefuseOverQuotaAsync(HttpContext context, Tenant tenant, TimeSpan retryAfter)
    {
        var hold = retryAfter < QuotaHold ? retryAfter : QuotaHold;
        try
        {
            await Task.Delay(hold, context.RequestAborted);
        }
        catch (OperationCanceledException)
        {
            return; // the client went away
        }
        await RefuseOverQuotaAsync(context, tenant, retryAfter - hold);
    }

    // 429 with Retry-After in whole seconds (at least 1), the way HTTP clients and load balancers read it.
    private Task RefuseOverQuotaAsync(HttpContext context, Tenant tenant, TimeSpan retryAfter)
    {
        long seconds = Math.Max(1, (long)Math.Ceiling(retryAfter.TotalSeconds));
        context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (_quotaLog.TryEnter(out long suppressed))
            LogOverQuota(tenant.Name, tenant.Enforced.ToString(), seconds, suppressed);
        return RefuseAsync(context, tenant, StatusCodes.Status429TooManyRequests, $"tenant {tenant.Name} over its rate limit ({tenant.Enforced}); retry in {seconds}s\n");
    }
}
