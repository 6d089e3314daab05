using System.Buffers;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polymur.Gateway.Primitives;

namespace Polymur.Gateway.Spool;

/// <summary>How an append went.</summary>
internal enum SpoolAppend
{
    Appended,

    /// <summary>-spool-max-size is reached (all spools together).</summary>
    Full,

    /// <summary>The disk refused the write (ENOSPC, EIO, read-only): spooling pauses for this destination.</summary>
    Failed,
}

/// <summary>
/// A record taken for replay: its lines (the first <paramref name="Length"/> bytes of <paramref name="Buffer"/>,
/// rented from <paramref name="Pool"/> when there is one, which gets it back once the lines are sent), and where
/// it is, so that it can be acknowledged once delivered.
/// </summary>
internal sealed record SpooledRecord(long Sequence, int Index, byte[] Buffer, int Length, int Points, long CreatedUnixMs, BufferPool? Pool)
{
    public ReadOnlySpan<byte> Lines => Buffer.AsSpan(0, Length);
}

/// <summary>
/// What one spool holds and has done, for /stats, /metrics and the admin API. <paramref name="LostPoints"/>:
/// answered points that could not be made durable (a failed fsync, then a failed rewrite); <paramref name="HeldFiles"/>:
/// files kept but not replayed now (unreadable, undeletable, not segments, skipped at start).
/// </summary>
internal readonly record struct SpoolCounters(long Files, long Bytes, long PendingPoints, long SpooledPoints, long ReplayedPoints, long CorruptPoints, long DamagedBytes, long WriteFailures, long? OldestCreatedUnixMs,
    long FsyncFailures = 0, long LostPoints = 0, long HeldFiles = 0, long Errors = 0);

/// <summary>
/// One destination's spool: a directory of segment files. Request threads append whole batches (compressed
/// outside the lock, written under it); the destination's writer takes records oldest first, sends them, and
/// acknowledges each once delivered. How far each segment was delivered is kept in its ack file, so a restart
/// replays only what was not; a segment whose every record is done is deleted at once. On open, every segment
/// found is read back in bounded pieces: a torn tail is cut off and corrupt records are skipped, both counted,
/// and anything that is not a readable segment is kept, reported and skipped.
/// No member throws: a disk error is counted, logged (rate-limited) and answered (Failed, or a record not
/// handed out), so the writer that calls it never dies of one. Delivery is at least once.
/// </summary>
internal sealed partial class DestinationSpool : IDisposable
{
    private readonly object _lock = new();
    private readonly ILogger _log;
    private readonly string _destination;
    private readonly string _directory;
    private readonly SpoolBudget _budget;
    private readonly SpoolSettings _settings;
    private readonly List<SpoolSegment> _segments = [];
    private readonly List<HeldFile> _held = [];
    private SegmentWriter? _writer;
    private long _nextSequence = 1;
    private long _spooled, _replayed, _corruptPoints, _damagedBytes, _failures, _fsyncFailures, _lostPoints, _errors, _fullRefusals;
    private long _unreported; // points dropped inside the spool (damaged, lost), handed to the writer by the next Take
    private long _failedUntil;
    private bool _failing, _disposed;
    // At most one line per kind of event every 10 s, with the count held back: a failing disk must not log per request.
    private static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(10);
    private readonly LogLimiter _fullLog = new(LogInterval), _errorLog = new(LogInterval), _writeLog = new(LogInterval), _heldLog = new(LogInterval), _corruptLog = new(LogInterval), _ackLog = new(LogInterval);

    private DestinationSpool(string directory, string destination, SpoolBudget budget, SpoolSettings settings, ILogger log)
    {
        _directory = directory;
        _destination = destination;
        _log = log;
        _budget = budget;
        _settings = settings;
    }

    public string Directory => _directory;

    /// <summary>
    /// Opens (creating if needed) the spool of <paramref name="destination"/> and recovers what it holds. Never
    /// throws: a directory that cannot be made or read is logged, and the spool then refuses appends (Failed).
    /// </summary>
    public static DestinationSpool Open(string spoolDir, string destination, SpoolBudget budget, SpoolSettings settings, ILogger? log = null)
    {
        string directory = SpoolDirectory.For(spoolDir, destination);
        var spool = new DestinationSpool(directory, destination, budget, settings, log ?? NullLogger.Instance);
        try
        {
            System.IO.Directory.CreateDirectory(directory);
        }
        catch (Exception e)
        {
            spool.LogUnusable(destination, directory, SpoolFiles.Reason(e));
            spool.FailFor(settings.RetryAfterFailure);
            return spool;
        }
        spool.WriteNameFile();
        lock (spool._lock)
            spool.Guard("recovery", spool.Recover);
        return spool;
    }

    public SpoolCounters Counters
    {
        get
        {
            lock (_lock)
            {
                long pending = 0, bytes = 0;
                long? oldest = null;
                int held = _held.Count;
                foreach (var s in _segments)
                {
                    pending += s.PendingPoints;
                    bytes += s.DiskBytes;
                    if (s.Hold != SegmentHold.None)
                        held++;
                    if (s.DonePrefix < s.Records.Count)
                        oldest = Math.Min(oldest ?? long.MaxValue, s.Records[s.DonePrefix].Header.CreatedUnixMs);
                }
                bytes += _held.Sum(h => h.DiskBytes);
                return new SpoolCounters(_segments.Count + _held.Count, bytes, pending + _unreported, _spooled, _replayed, _corruptPoints, _damagedBytes, _failures, oldest,
                    _fsyncFailures, _lostPoints, held, _errors);
            }
        }
    }

    /// <summary>True when a record can be taken now (held segments count only once their retry is due).</summary>
    public bool HasPending
    {
        get
        {
            lock (_lock)
            {
                if (_unreported > 0)
                    return true;
                long now = Stopwatch.GetTimestamp();
                foreach (var s in _segments)
                {
                    if (s.Taken < s.Records.Count && (s.Hold == SegmentHold.None || (s.Hold == SegmentHold.Unreadable && now >= s.RetryAt)))
                        return true;
                }
                return false;
            }
        }
    }

    /// <summary>
    /// Writes the lines as one record; the caller answers 200 only on <see cref="SpoolAppend.Appended"/>. The
    /// lines are compressed before the lock is taken, so appends for one destination compress in parallel.
    /// </summary>
    private long _framesCompressed;

    /// <summary>Frames compressed so far, counted before the lock is taken (the tests see compression happen outside it).</summary>
    internal long FramesCompressed => Volatile.Read(ref _framesCompressed);

    public SpoolAppend TryAppend(ReadOnlySpan<byte> lines, int points)
    {
        if (Stopwatch.GetTimestamp() < Volatile.Read(ref _failedUntil))
            return SpoolAppend.Failed;
        // Reserve the worst case first, so racing spools cannot pass the limit together.
        long reserve = SegmentFormat.FileHeaderLength + SegmentWriter.MaxFrameLength(lines.Length);
        if (!_budget.TryTake(reserve))
        {
            lock (_lock)
            {
                _fullRefusals++;
                if (_fullLog.TryEnter(out long held))
                    LogFull(_destination, _budget.UsedBytes, _budget.MaxBytes, held + 1);
            }
            return SpoolAppend.Full;
        }
        byte[]? frame = null;
        bool handedOver = false; // from then on AppendLocked gives back what it does not use of the reserve
        try
        {
            long created = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            int length = SegmentWriter.Frame(lines, points, created, out frame);
            Interlocked.Increment(ref _framesCompressed);
            lock (_lock)
            {
                if (_disposed)
                    return SpoolAppend.Failed;
                handedOver = true;
                var owned = frame;
                frame = null; // AppendLocked owns it now: kept until the next good fsync, or given back here
                var result = AppendLocked(owned, length, points, reserve);
                if (result != SpoolAppend.Appended)
                    ArrayPool<byte>.Shared.Return(owned);
                return result;
            }
        }
        catch (Exception e)
        {
            lock (_lock)
                CountError("append", e);
            return SpoolAppend.Failed;
        }
        finally
        {
            if (!handedOver)
                _budget.Release(reserve);
            if (frame is not null)
                ArrayPool<byte>.Shared.Return(frame);
        }
    }

    private SpoolAppend AppendLocked(byte[] frame, int length, int points, long reserve)
    {
        SpoolSegment segment;
        long headerBytes;
        try
        {
            segment = ActiveSegment(out headerBytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _budget.Release(reserve);
            WriteFailed(e);
            return SpoolAppend.Failed;
        }
        long offset = segment.Length;
        try
        {
            _writer!.Write(frame.AsSpan(0, length));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _budget.Release(reserve - headerBytes);
            segment.DiskBytes = segment.Length; // the header stays taken with the file
            WriteFailed(e);
            return SpoolAppend.Failed;
        }
        var header = SegmentFormat.ReadRecordHeader(frame);
        segment.Records.Add(new SegmentRecord(offset, header));
        segment.Length += length;
        segment.DiskBytes = segment.Length;
        segment.PendingPoints += points;
        _budget.Release(reserve - length - headerBytes);
        _spooled += points;
        Keep(segment, frame, length);
        SyncIfDue();
        if (_failing && Volatile.Read(ref _failedUntil) <= Stopwatch.GetTimestamp())
        {
            _failing = false;
            LogWritable(_destination, _directory);
        }
        return SpoolAppend.Appended;
    }

    /// <summary>
    /// The oldest record not yet taken, with its lines; null when there is none, or when the buffer pool has no
    /// room for its lines within the batch memory limit (it is taken on a later call). Records that cannot be
    /// read back are skipped, never replayed, and their points reported in <paramref name="unreadablePoints"/>,
    /// as are points the spool lost (a failed fsync and rewrite) since the last call.
    /// </summary>
    public SpooledRecord? Take(out long unreadablePoints)
    {
        lock (_lock)
        {
            unreadablePoints = 0;
            try
            {
                return TakeLocked();
            }
            catch (Exception e)
            {
                CountError("replay", e);
                return null;
            }
            finally
            {
                Reap();
                unreadablePoints = _unreported;
                _unreported = 0;
            }
        }
    }

    private SpooledRecord? TakeLocked()
    {
        long now = Stopwatch.GetTimestamp();
        for (int i = 0; i < _segments.Count; i++)
        {
            var segment = _segments[i];
            if (segment.Taken >= segment.Records.Count || segment.Hold == SegmentHold.Undeletable)
                continue;
            if (segment.Hold == SegmentHold.Unreadable)
            {
                if (now < segment.RetryAt)
                    continue;
                segment.Hold = SegmentHold.None;
            }
            while (segment.Taken < segment.Records.Count)
            {
                // Only durable records are handed out, so a failed fsync can move the others without a trace.
                if (segment.IsActive && segment.Taken >= segment.Synced && !SyncLocked())
                    return null;
                var record = segment.Records[segment.Taken];
                var buffer = RentLines(record.Header.RawLength);
                if (buffer is null)
                    return null;
                var read = ReadRecord(segment, record, buffer, out string? error);
                if (read == ReadResult.Ok)
                {
                    int index = segment.Taken++;
                    if (segment.Taken >= segment.Records.Count && !segment.IsActive)
                        CloseReader(segment);
                    return new SpooledRecord(segment.Sequence, index, buffer, record.Header.RawLength, record.Header.Points, record.Header.CreatedUnixMs, _settings.Buffers);
                }
                ReturnLines(buffer);
                if (read == ReadResult.Damaged)
                {
                    // Unreadable though its CRC matched when found (the file changed since): counted, never replayed.
                    int index = segment.Taken++;
                    Skip(segment, index, record);
                    if (_corruptLog.TryEnter(out long held))
                        LogDamagedRecord(segment.Path, record.Offset, record.Header.Points, held);
                    continue;
                }
                if (read == ReadResult.Gone)
                {
                    // Removed from under the spool: what it held is lost, and counted so.
                    for (int index = segment.Taken; index < segment.Records.Count; index++)
                        Skip(segment, index, segment.Records[index]);
                    segment.Taken = segment.Records.Count;
                    LogSegmentGone(_destination, segment.Path, error ?? "no such file");
                    break;
                }
                // Cannot be read now (EACCES, EIO): kept as it is, replay goes on with the next segment.
                HoldBack(segment, SegmentHold.Unreadable, error ?? "unreadable");
                break;
            }
        }
        return null;
    }

    /// <summary>The record was delivered: once a segment's every record is, its file is deleted.</summary>
    public void Acknowledge(SpooledRecord record)
    {
        lock (_lock)
        {
            try
            {
                var segment = _segments.Find(s => s.Sequence == record.Sequence);
                if (segment is null || record.Index >= segment.Records.Count)
                    return;
                if (segment.IsDone(record.Index))
                    return; // acknowledged already
                segment.MarkDone(record.Index);
                _replayed += record.Points;
                segment.PendingPoints -= record.Points;
                SaveProgress(segment);
                Reap();
            }
            catch (Exception e)
            {
                CountError("acknowledge", e);
            }
        }
    }

    /// <summary>fsync, if anything was written since the last one: the -spool-fsync timer and shutdown call it.</summary>
    public void Sync()
    {
        lock (_lock)
        {
            try
            {
                SyncLocked();
                RetryHeld();
            }
            catch (Exception e)
            {
                CountError("fsync", e);
            }
        }
    }

    /// <summary>The final fsync and close: what cannot be made durable now is counted as lost, and said.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
                return;
            try
            {
                CloseWriter();
            }
            catch (Exception e)
            {
                CountError("close", e);
            }
            foreach (var segment in _segments)
                segment.CloseHandles();
            _disposed = true;
        }
    }

    private void Skip(SpoolSegment segment, int index, SegmentRecord record)
    {
        _corruptPoints += record.Header.Points;
        _unreported += record.Header.Points;
        segment.PendingPoints -= record.Header.Points;
        segment.MarkDone(index);
        SaveProgress(segment);
    }

    private void FailFor(TimeSpan span)
    {
        Volatile.Write(ref _failedUntil, Stopwatch.GetTimestamp() + (long)(span.TotalSeconds * Stopwatch.Frequency));
        _failing = true;
    }

    // A failed write: counted, said once while it lasts, and this destination stops spooling for a while.
    private void WriteFailed(Exception e)
    {
        _failures++;
        if (!_failing || _writeLog.TryEnter(out _))
            LogWriteFailed(_destination, _directory, SpoolFiles.Reason(e), _settings.RetryAfterFailure.TotalSeconds);
        FailFor(_settings.RetryAfterFailure);
        // The frame may be on disk in part: cut back to the last whole record, and make sure of what is before it.
        if (_writer is not null && _active is { } active)
        {
            try
            {
                _writer.Truncate(active.Length);
            }
            catch (Exception cut) when (cut is IOException or UnauthorizedAccessException)
            {
                active.DiskBytes = Math.Max(active.DiskBytes, active.Length); // a torn frame stays: cut at the next start
            }
        }
        CloseWriter();
    }

    private void CountError(string operation, Exception e)
    {
        _errors++;
        if (_errorLog.TryEnter(out long held))
            LogError(_destination, operation, e.GetType().Name + ": " + SpoolFiles.Reason(e), held);
    }

    private void Guard(string operation, Action action)
    {
        try
        {
            action();
        }
        catch (Exception e)
        {
            CountError(operation, e);
        }
    }

    private void WriteNameFile()
    {
        try
        {
            string path = Path.Combine(_directory, SpoolDirectory.NameFile);
            if (SpoolDirectory.DestinationOf(_directory) != _destination)
                File.WriteAllText(path, _destination + "\n");
        }
        catch (Exception e)
        {
            // Only the spool tool reads it; the spool works without it.
            LogNameFile(_destination, _directory, SpoolFiles.Reason(e));
        }
    }

    // Replayed lines go in pooled buffers, counted against -max-batch-memory like any batch, so a long replay
    // neither allocates per record nor takes memory that live requests were promised.
    private byte[]? RentLines(int length)
    {
        if (_settings.Buffers is not { } pool)
            return GC.AllocateUninitializedArray<byte>(length);
        return pool.TryRent(length, _settings.BufferLimit, out var buffer) ? buffer : null;
    }

    private void ReturnLines(byte[] buffer) => _settings.Buffers?.Return(buffer);

    /// <summary>A file in the spool that is kept and counted but never replayed: not a segment, or unreadable at start.</summary>
    private sealed record HeldFile(string Path, long DiskBytes, string Reason);
}
