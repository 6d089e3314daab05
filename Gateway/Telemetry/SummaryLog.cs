using System.Text;
using Microsoft.Extensions.Logging;

namespace Polymur.Gateway.Telemetry;

/// <summary>One line every interval, (every 5 s by default): points in and out, the rate, and any queue holding points.</summary>
internal sealed partial class SummaryLog(StatsCollector stats, TimeSpan interval, ILogger<SummaryLog> log) : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;

    public void Start() => _loop = Task.Run(LoopAsync);

    private async Task LoopAsync()
    {
        using var timer = new PeriodicTimer(interval);
        long lastReceived = stats.Take().Ingest.LinesReceived;
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                var s = stats.Take();
                double rate = (s.Ingest.LinesReceived - lastReceived) / interval.TotalSeconds;
                lastReceived = s.Ingest.LinesReceived;
                LogSummary(s.Ingest.LinesReceived, rate, s.Points.Delivered, s.Points.Dropped.Values.Sum(), s.Ingest.LinesInvalid + s.Ingest.LinesTooLong, Queues(s));
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static string Queues(StatsSnapshot s)
    {
        var busy = s.Destinations.Where(d => d.Queued > 0).ToList();
        if (busy.Count == 0)
            return "all queues empty";
        var sb = new StringBuilder("queued:");
        foreach (var d in busy)
            sb.Append(' ').Append(d.Name).Append('=').Append(d.Queued);
        return sb.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await _loop;
    }

    [LoggerMessage(EventId = 651, Level = LogLevel.Information, Message = "Summary: {Received} points received ({Rate:0}/s), {Delivered} delivered, {Dropped} dropped, {Invalid} invalid; {Queues}")]
    private partial void LogSummary(long received, double rate, long delivered, long dropped, long invalid, string queues);
}
