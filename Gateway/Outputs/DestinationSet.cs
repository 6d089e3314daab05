using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using Polymur.Gateway.Configuration;
using Polymur.Gateway.Spool;

namespace Polymur.Gateway.Outputs;

/// <summary>
/// The running destinations and their writers. Routing reads <see cref="Members"/>, one immutable reference,
/// so it takes no lock; an operator's add or remove (rare) builds a new list under a lock and swaps it in.
/// </summary>
public sealed partial class DestinationSet
{
    private readonly Lock _changes = new();
    private readonly List<(DestinationAddress Address, DestinationWriter Writer)> _members = [];
    private readonly int _queueCapacity;
    private readonly long _queueBytes;
    private readonly WriterOptions _writerOptions;
    private readonly ILogger<DestinationSet> _log;
    private readonly ILoggerFactory _loggers;
    private readonly SpoolSet? _spools;
    private DestinationMembers _published = DestinationMembers.Empty;
    private bool _started;
    private Timer? _dropReporter;
    private readonly Dictionary<Destination, ReportedDrops> _reportedDrops = [];

    private DestinationSet(GatewayOptions options, WriterOptions writerOptions, ILoggerFactory loggers, SpoolSet? spools)
    {
        _spools = spools;
        _queueCapacity = options.OutgoingQueueCap;
        _queueBytes = QueueBytesFor(options.MaxBatchMemory);
        _writerOptions = writerOptions;
        _log = loggers.CreateLogger<DestinationSet>();
        _loggers = loggers;
    }

    /// <summary>
    /// The buffer bytes one destination's queue may pin: an eighth of -max-batch-memory (at least 1 MiB), so that a down or slow
    /// destination's small batches cannot take the memory every tenant's requests need (F7: 4,095 one-line
    /// batches pinned 256 MiB). Real batches never reach it: 4096 points of 5000-line batches pin about 1 MiB.
    /// </summary>
    internal static long QueueBytesFor(long maxBatchMemory) => Math.Max(maxBatchMemory / QueueBytesShare, 1L << 20);

    internal const int QueueBytesShare = 8;

    public DestinationMembers Members => Volatile.Read(ref _published);

    public ImmutableArray<Destination> Current => Members.Destinations;

    /// <summary>The destinations -destinations names, or stdout alone with -console-out.</summary>
    /// <param name="spools">Each destination's spool (opened, and what it holds recovered, as it is added); null for none.</param>
    internal static DestinationSet Create(GatewayOptions options, WriterOptions writerOptions, Stream stdout, ILoggerFactory loggers, SpoolSet? spools = null)
    {
        var set = new DestinationSet(options, writerOptions, loggers, spools);
        if (options.ConsoleOut)
        {
            var console = new Destination("console", options.OutgoingQueueCap, set._queueBytes);
            set._members.Add((new DestinationAddress("console", 1, null), new DestinationWriter(console, new ConsoleTransport(stdout), writerOptions, loggers.CreateLogger<DestinationWriter>())));
            set.Rebuild();
            return set;
        }
        foreach (var address in options.Destinations)
            set.AddMember(address);
        set.Rebuild();
        return set;
    }

    public void Start(TimeSpan dropReportInterval)
    {
        lock (_changes)
        {
            _started = true;
            foreach (var (_, writer) in _members)
                writer.Start();
        }
        _dropReporter = new Timer(_ => ReportDrops(), null, dropReportInterval, dropReportInterval);
    }

    /// <summary>Adds a destination at run time. False when one with the same name is already there.</summary>
    public bool TryAdd(DestinationAddress address, out Destination destination)
    {
        lock (_changes)
        {
            var existing = _members.Find(m => m.Writer.Destination.Name == address.Name);
            if (existing.Writer is not null)
            {
                destination = existing.Writer.Destination;
                return false;
            }
            var writer = AddMember(address);
            if (_started)
                writer.Start();
            Rebuild();
            destination = writer.Destination;
        }
        LogAdded(address.Name, Current.Length);
        return true;
    }

    /// <summary>
    /// Removes a destination: it gets no new batch from now on, its writer delivers what it holds for up to
    /// <paramref name="drainTimeout"/>, and the rest goes to its spool, or without one is dropped and counted as
    /// destination_removed. A spool's files are kept.
    /// </summary>
    public async Task<Destination?> RemoveAsync(string name, TimeSpan drainTimeout)
    {
        DestinationWriter? writer;
        lock (_changes)
        {
            int index = _members.FindIndex(m => m.Writer.Destination.Name == name);
            if (index < 0)
                return null;
            writer = _members[index].Writer;
            _members.RemoveAt(index);
            Rebuild();
        }
        await writer.StopAsync(drainTimeout, DropReason.DestinationRemoved);
        _spools?.Close(name);
        LogRemoved(name, writer.Destination.Counters.Delivered, writer.Destination.Counters.Dropped(DropReason.DestinationRemoved));
        return writer.Destination;
    }

    /// <summary>Delivers what is queued within <paramref name="timeout"/>, then drops and counts the rest.</summary>
    public async Task DrainAsync(TimeSpan timeout)
    {
        if (_dropReporter is not null)
            await _dropReporter.DisposeAsync();
        DestinationWriter[] writers;
        lock (_changes)
            writers = [.. _members.Select(m => m.Writer)];
        await Task.WhenAll(writers.Select(w => w.StopAsync(timeout, DropReason.ShutdownTimeout)));
        ReportDrops();
    }

    private DestinationWriter AddMember(DestinationAddress address)
    {
        var spool = _spools?.Open(address.Name);
        var destination = new Destination(address.Name, _queueCapacity, _queueBytes) { Spool = spool, Tls = address.Tls };
        if (spool is not null)
        {
            // Points found in the spool from a previous run are routed to it in this one: the identity holds.
            long found = spool.Counters.PendingPoints;
            destination.Counters.AddRouted(found);
            destination.Counters.AddSpooled(found);
        }
        IOutputTransport transport = address.Tls
            ? new TlsTransport(address, _writerOptions.DestinationTimeout, _writerOptions.DestinationCa, destination.Counters)
            : new TcpTransport(address, _writerOptions.DestinationTimeout);
        var writer = new DestinationWriter(destination, transport, _writerOptions, _loggers.CreateLogger<DestinationWriter>());
        _members.Add((address, writer));
        return writer;
    }

    private void Rebuild()
    {
        var members = new DestinationMembers([.. _members.Select(m => m.Writer.Destination)], [.. _members.Select(m => m.Address)]);
        Volatile.Write(ref _published, members);
    }

    // Drops and refusals happen on the request path; they are logged from here, at most once per interval, with
    // what is new since the last report and the total.
    private void ReportDrops()
    {
        lock (_reportedDrops)
        {
            foreach (var destination in Current)
            {
                var seen = _reportedDrops.GetValueOrDefault(destination);
                var now = new ReportedDrops(
                    destination.Counters.Dropped(DropReason.QueueFull),
                    destination.Counters.Dropped(DropReason.SpoolFull),
                    destination.Counters.Refused);
                if (now.QueueFull > seen.QueueFull)
                    LogQueueFullDrops(destination.Name, now.QueueFull - seen.QueueFull, now.QueueFull);
                if (now.SpoolFull > seen.SpoolFull)
                    LogSpoolFullDrops(destination.Name, now.SpoolFull - seen.SpoolFull, now.SpoolFull);
                if (now.Refused > seen.Refused)
                    LogSpoolRefusals(destination.Name, now.Refused - seen.Refused, now.Refused);
                _reportedDrops[destination] = now;
            }
        }
    }

    private readonly record struct ReportedDrops(long QueueFull, long SpoolFull, long Refused);
}
