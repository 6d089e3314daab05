using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using Polymur.Gateway.Configuration;

namespace Polymur.Gateway.Outputs;

/// <summary>
/// The running destinations and their writers. Routers read <see cref="Current"/>, an immutable array, so
/// routing takes no lock; changes swap the array.
/// </summary>
public sealed partial class DestinationSet : IAsyncDisposable
{
    private readonly ILogger<DestinationSet> _log;
    private readonly List<DestinationWriter> _writers = [];
    private ImmutableArray<Destination> _current = [];
    private Timer? _dropReporter;
    private long[] _lastReportedDrops = [];

    private DestinationSet(ILogger<DestinationSet> log) => _log = log;

    public ImmutableArray<Destination> Current => _current;

    /// <summary>The destinations -destinations names, or stdout alone with -console-out.</summary>
    internal static DestinationSet Create(GatewayOptions options, WriterOptions writerOptions, Stream stdout, ILoggerFactory loggers)
    {
        var set = new DestinationSet(loggers.CreateLogger<DestinationSet>());
        var writerLog = loggers.CreateLogger<DestinationWriter>();
        if (options.ConsoleOut)
        {
            set.Add(new Destination("console", options.OutgoingQueueCap), new ConsoleTransport(stdout), writerOptions, writerLog);
        }
        else
        {
            foreach (var address in options.Destinations)
                set.Add(new Destination(address.Name, options.OutgoingQueueCap), new TcpTransport(address, writerOptions.DialTimeout), writerOptions, writerLog);
        }
        return set;
    }

    private void Add(Destination destination, IOutputTransport transport, WriterOptions writerOptions, ILogger writerLog)
    {
        _writers.Add(new DestinationWriter(destination, transport, writerOptions, writerLog));
        _current = _current.Add(destination);
    }

    public void Start(TimeSpan dropReportInterval)
    {
        foreach (var writer in _writers)
            writer.Start();
        _lastReportedDrops = new long[_current.Length];
        _dropReporter = new Timer(_ => ReportDrops(), null, dropReportInterval, dropReportInterval);
    }

    /// <summary>Delivers what is queued within <paramref name="timeout"/>, then drops and counts the rest.</summary>
    public async Task DrainAsync(TimeSpan timeout)
    {
        if (_dropReporter is not null)
            await _dropReporter.DisposeAsync();
        await Task.WhenAll(_writers.Select(w => w.StopAsync(timeout, DropReason.ShutdownTimeout)));
        ReportDrops();
    }

    // Queue-full drops happen on the request path; they are logged from here, at most once per interval.
    private void ReportDrops()
    {
        var destinations = _current;
        for (int i = 0; i < destinations.Length && i < _lastReportedDrops.Length; i++)
        {
            long total = destinations[i].Counters.Dropped(DropReason.QueueFull);
            long fresh = total - _lastReportedDrops[i];
            if (fresh > 0)
                LogQueueFullDrops(destinations[i].Name, fresh, total);
            _lastReportedDrops[i] = total;
        }
    }

    public async ValueTask DisposeAsync() => await DrainAsync(TimeSpan.Zero);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Destination {Destination}: {Points} points dropped, queue full ({Total} in all)")]
    private partial void LogQueueFullDrops(string destination, long points, long total);
}
