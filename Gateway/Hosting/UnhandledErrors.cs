using Microsoft.Extensions.Logging;
using Polymur.Gateway.Primitives;

namespace Polymur.Gateway.Hosting;

/// <summary>
/// The last resort for an exception no handler expected: a 500 with a one-line body, and one short log line
/// (type and message, no stack trace) at most every few seconds, so a client that can trigger it cannot flood
/// the log with stack traces.
/// </summary>
internal sealed partial class UnhandledErrors(ILogger<UnhandledErrors> log)
{
    private readonly LogLimiter _limiter = new(TimeSpan.FromSeconds(5));

    public async Task Enforce(HttpContext context, RequestDelegate next)
    {
        try
        {
            await next(context);
        }
        catch (Exception e) when (!context.RequestAborted.IsCancellationRequested)
        {
            if (_limiter.TryEnter(out long suppressed))
                LogUnhandled(context.Request.Path.Value ?? "", e.GetType().Name, e.Message, suppressed);
            if (context.Response.HasStarted)
            {
                context.Abort();
                return;
            }
            context.Response.Clear();
            context.Response.StatusCode = StatusCodes.Status500InternalServerError;
            context.Response.ContentType = "text/plain; charset=utf-8";
            await context.Response.WriteAsync("internal error\n");
        }
    }

    [LoggerMessage(EventId = 181, Level = LogLevel.Error, Message = "Request to {Path} failed: {Type}: {Message}; {Suppressed} more not logged")]
    private partial void LogUnhandled(string path, string type, string message, long suppressed);
}
