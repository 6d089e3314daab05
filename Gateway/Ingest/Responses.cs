using System.Text;
using Microsoft.AspNetCore.Http;

namespace Polymur.Gateway.Ingest;

/// <summary>The exact answers a polymur-proxy expects (see polymur-wire-facts.md), and our limit answers.</summary>
internal static class Responses
{
    public static readonly byte[] KeyValid = "key is valid\n"u8.ToArray();
    public static readonly byte[] InvalidKey = "invalid key"u8.ToArray();
    public static readonly byte[] BatchReceived = "Batch Received\n"u8.ToArray();
    public static readonly byte[] BatchMalformed = "Batch Malformed\n"u8.ToArray();

    /// <summary>A destination needed its spool and it is at its limit: 503, never 200 and a drop.</summary>
    public const string SpoolFull = "spool full for a destination that needs it (-spool-max-size); retry later\n";

    /// <summary>A destination needed its spool and the disk refused the write.</summary>
    public const string SpoolFailed = "spool cannot be written for a destination that needs it (disk full or failing); retry later\n";

    /// <summary>
    /// Retry-After for those refusals, in seconds: long enough for a replay to free room or for the spool to try its
    /// disk again (it pauses 10 s after a failed write), short enough that a sender who retries loses no time.
    /// </summary>
    public const string SpoolRetryAfterSeconds = "5";

    /// <summary>
    /// Retry-After when a request waited -queue-wait for memory or a decoder: the gateway is busy for a moment
    /// (a decode takes milliseconds, delivered batches free memory), so come back after a second.
    /// </summary>
    public const string BusyRetryAfterSeconds = "1";

    public static Task WriteAsync(HttpContext context, int status, byte[] body, bool close = false)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = "text/plain; charset=utf-8";
        response.ContentLength = body.Length;
        // Connection is an HTTP/1.x header; HTTP/2 forbids it.
        if (close && context.Request.Protocol is "HTTP/1.1" or "HTTP/1.0")
            response.Headers.Connection = "close";
        return response.Body.WriteAsync(body, context.RequestAborted).AsTask();
    }

    public static Task WriteAsync(HttpContext context, int status, string body, bool close = false) =>
        WriteAsync(context, status, Encoding.UTF8.GetBytes(body), close);
}
