using Microsoft.Extensions.Logging;

namespace Polymur.Gateway.Spool;

/// <summary>A spool found at start whose destination is not configured: kept as it is, shown, never replayed.</summary>
public sealed record OrphanSpool(string Destination, string Directory, long Files, long Bytes);

/// <summary>
/// Every destination's spool under -spool-dir, with one size limit for all of them (-spool-max-size), and the
/// -spool-fsync timer. Spools of destinations no longer configured are kept and reported, never deleted. It holds
/// the spool dir's lock (<see cref="SpoolLock"/>) from construction to disposal: one process per spool dir.
/// </summary>
internal sealed partial class SpoolSet : IAsyncDisposable
{
    private readonly string _root;
    private readonly SpoolSettings _settings;
    private readonly ILogger _log;
    private readonly Dictionary<string, DestinationSpool> _open = new(StringComparer.Ordinal);
    private readonly Timer? _fsync;
    private readonly SpoolLock _lock;

    /// <exception cref="SpoolLockedException">Another process uses <paramref name="root"/>, or it cannot be locked.</exception>
    public SpoolSet(string root, long maxBytes, SpoolSettings settings, ILogger<SpoolSet> log)
    {
        _lock = SpoolLock.Take(root);
        _root = root;
        _settings = settings;
        _log = log;
        Budget = new SpoolBudget(maxBytes);
        if (settings.FsyncInterval > TimeSpan.Zero)
            _fsync = new Timer(_ => SyncAll(), null, settings.FsyncInterval, settings.FsyncInterval);
    }

    public SpoolBudget Budget { get; }

    public IReadOnlyList<OrphanSpool> Orphans { get; private set; } = [];

    /// <summary>Opens (or reopens) a destination's spool, recovering what it holds.</summary>
    public DestinationSpool Open(string destination)
    {
        lock (_open)
        {
            if (_open.TryGetValue(destination, out var open))
                return open;
            string directory = SpoolDirectory.For(_root, destination);
            if (Orphans.FirstOrDefault(o => o.Directory == directory) is { } adopted)
            {
                // An orphan whose destination is added back: its bytes are counted again as it is recovered.
                Budget.Release(adopted.Bytes);
                Orphans = [.. Orphans.Where(o => o != adopted)];
            }
            var spool = DestinationSpool.Open(_root, destination, Budget, _settings, _log);
            _open[destination] = spool;
            var counters = spool.Counters;
            if (counters.PendingPoints > 0)
                LogRecovered(destination, counters.PendingPoints, counters.Files, counters.Bytes);
            if (counters.DamagedBytes > 0)
                LogDamaged(destination, counters.DamagedBytes);
            return spool;
        }
    }

    /// <summary>Closes a removed destination's spool; its files stay for the spool tool or a later re-add.</summary>
    public void Close(string destination)
    {
        lock (_open)
        {
            if (_open.Remove(destination, out var spool))
                spool.Dispose();
        }
    }

    /// <summary>Finds the spools of destinations not in <paramref name="configured"/>, and logs each once.</summary>
    public void FindOrphans(IEnumerable<string> configured)
    {
        var names = configured.Select(SpoolDirectory.DirectoryName).ToHashSet(StringComparer.Ordinal);
        var orphans = new List<OrphanSpool>();
        foreach (string directory in Directories())
        {
            if (names.Contains(Path.GetFileName(directory)))
                continue;
            var segments = SpoolDirectory.Segments(directory);
            long bytes = segments.Sum(s => SpoolFiles.Lstat(s.Path) is { Kind: EntryKind.Regular } f ? f.DiskBytes : 0);
            var orphan = new OrphanSpool(SpoolDirectory.DestinationOf(directory) ?? Path.GetFileName(directory), directory, segments.Count, bytes);
            orphans.Add(orphan);
            Budget.Take(bytes);
            LogOrphan(orphan.Destination, orphan.Files, orphan.Bytes, directory);
        }
        Orphans = orphans;
    }

    /// <summary>Each open spool's counters, for /stats and /metrics.</summary>
    public IReadOnlyList<SpoolCounters> AllCounters()
    {
        DestinationSpool[] spools;
        lock (_open)
            spools = [.. _open.Values];
        return [.. spools.Select(s => s.Counters)];
    }

    private IEnumerable<string> Directories()
    {
        try
        {
            // Only real directories: a link or a file named like a spool is not followed.
            return [.. Directory.EnumerateDirectories(_root).Where(d => SpoolFiles.Lstat(d).Kind == EntryKind.Directory)];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogCannotList(_root, e.Message);
            return [];
        }
    }

    private void SyncAll()
    {
        DestinationSpool[] spools;
        lock (_open)
            spools = [.. _open.Values];
        foreach (var spool in spools)
            spool.Sync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_fsync is not null)
            await _fsync.DisposeAsync();
        lock (_open)
        {
            foreach (var spool in _open.Values)
                spool.Dispose();
            _open.Clear();
        }
        _lock.Dispose();
    }
}
