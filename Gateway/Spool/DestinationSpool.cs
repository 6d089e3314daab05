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

/// <summary>What one spool holds and has done, for /stats, /metrics and the admin API.</summary>
internal readonly record struct SpoolCounters(long Files, long Bytes, long PendingPoints, long SpooledPoints, long ReplayedPoints, long CorruptPoints, long DamagedBytes, long WriteFailures, long? OldestCreatedUnixMs);

/// <summary>
/// One destination's spool: a directory of segment files. Request threads append whole batches (under a lock:
/// this is the disk path, never the hot one); the destination's writer takes records oldest first, sends them,
/// and acknowledges each once delivered. A segment whose every record is acknowledged is deleted at once. On
/// open, every segment found is read back: a torn tail is cut off and corrupt records are skipped, both counted.
/// What was taken but not acknowledged when the process stops is replayed at the next start: delivery is at
/// least once.
/// </summary>
internal sealed partial class DestinationSpool : IDisposable
{
    private readonly object _lock = new();
    private readonly ILogger _log;
    private readonly string _destination;
    private readonly string _directory;
    private readonly SpoolBudget _budget;
    private readonly SpoolSettings _settings;
    private readonly List<Segment> _segments = [];
    private SegmentWriter? _writer;
    private long _nextSequence = 1;
    private long _lastSync = Stopwatch.GetTimestamp();
    private bool _dirty;
    private long _spooled, _replayed, _corruptPoints, _damagedBytes, _failedUntil, _failures;
    private byte[] _frame = []; // the record being read back, reused: replay reads one record at a time
    private bool _failing;

    private DestinationSpool(string directory, string destination, SpoolBudget budget, SpoolSettings settings, ILogger log)
    {
        _directory = directory;
        _destination = destination;
        _log = log;
        _budget = budget;
        _settings = settings;
    }

    public string Directory => _directory;

    /// <summary>Opens (creating if needed) the spool of <paramref name="destination"/> and recovers what it holds.</summary>
    public static DestinationSpool Open(string spoolDir, string destination, SpoolBudget budget, SpoolSettings settings, ILogger? log = null)
    {
        string directory = SpoolDirectory.For(spoolDir, destination);
        System.IO.Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, SpoolDirectory.NameFile), destination + "\n");
        var spool = new DestinationSpool(directory, destination, budget, settings, log ?? NullLogger.Instance);
        spool.Recover();
        return spool;
    }

    public SpoolCounters Counters
    {
        get
        {
            lock (_lock)
            {
                long pending = _segments.Sum(s => s.PendingPoints);
                long? oldest = _segments.SelectMany(s => s.Records.Skip(s.Acked)).Select(r => (long?)r.Header.CreatedUnixMs).Min();
                return new SpoolCounters(_segments.Count, _segments.Sum(s => s.Length), pending, _spooled, _replayed, _corruptPoints, _damagedBytes, _failures, oldest);
            }
        }
    }

    public bool HasPending
    {
        get
        {
            lock (_lock)
                return _segments.Any(s => s.Taken < s.Records.Count);
        }
    }

    /// <summary>Writes the lines as one record; the caller answers 200 only on <see cref="SpoolAppend.Appended"/>.</summary>
    public SpoolAppend TryAppend(ReadOnlySpan<byte> lines, int points)
    {
        lock (_lock)
        {
            if (Stopwatch.GetTimestamp() < _failedUntil)
                return SpoolAppend.Failed;
            // Reserve the worst case first, so racing spools cannot pass the limit together.
            long reserve = SegmentFormat.FileHeaderLength + SegmentFormat.RecordHeaderLength + System.IO.Compression.BrotliEncoder.GetMaxCompressedLength(lines.Length);
            if (!_budget.TryTake(reserve))
                return SpoolAppend.Full;
            try
            {
                var segment = ActiveSegment(out long headerBytes);
                long offset = segment.Length;
                long created = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                int written = _writer!.Append(lines, points, created);
                segment.Records.Add(new SegmentRecord(offset, new RecordHeader(written - SegmentFormat.RecordHeaderLength, lines.Length, points, created)));
                segment.Length += written;
                _budget.Release(reserve - written - headerBytes);
                _spooled += points;
                _dirty = true;
                SyncIfDue();
                if (_failing)
                {
                    _failing = false;
                    LogWritable(_destination, _directory);
                }
                return SpoolAppend.Appended;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // ENOSPC, EIO, a read-only remount: this destination stops spooling for a while; others go on.
                _budget.Release(reserve);
                CloseWriter();
                _failures++;
                _failedUntil = Stopwatch.GetTimestamp() + (long)(_settings.RetryAfterFailure.TotalSeconds * Stopwatch.Frequency);
                if (!_failing)
                {
                    _failing = true;
                    LogWriteFailed(_destination, _directory, e.Message, _settings.RetryAfterFailure.TotalSeconds);
                }
                return SpoolAppend.Failed;
            }
        }
    }

    /// <summary>
    /// The oldest record not yet taken, with its lines; null when there is none, or when the buffer pool has no
    /// room for its lines within the batch memory limit (it is taken on a later call). Records that cannot be
    /// read back are skipped, never replayed, and their points reported in <paramref name="unreadablePoints"/>.
    /// </summary>
    public SpooledRecord? Take(out long unreadablePoints)
    {
        unreadablePoints = 0;
        lock (_lock)
        {
            foreach (var segment in _segments)
            {
                while (segment.Taken < segment.Records.Count)
                {
                    var record = segment.Records[segment.Taken];
                    var buffer = RentLines(record.Header.RawLength);
                    if (buffer is null)
                        return null;
                    int index = segment.Taken++;
                    if (ReadLines(segment, record, buffer))
                        return new SpooledRecord(segment.Sequence, index, buffer, record.Header.RawLength, record.Header.Points, record.Header.CreatedUnixMs, _settings.Buffers);
                    _settings.Buffers?.Return(buffer);
                    // Unreadable though its CRC matched when found (the file changed since): counted, never replayed.
                    _corruptPoints += record.Header.Points;
                    unreadablePoints += record.Header.Points;
                    Acknowledge(segment);
                }
            }
            return null;
        }
    }

    /// <summary>The record was delivered: once a segment's every record is, its file is deleted.</summary>
    public void Acknowledge(SpooledRecord record)
    {
        lock (_lock)
        {
            var segment = _segments.Find(s => s.Sequence == record.Sequence);
            if (segment is null)
                return;
            _replayed += record.Points;
            Acknowledge(segment);
        }
    }

    /// <summary>fsync, if anything was written since the last one: the -spool-fsync timer and shutdown call it.</summary>
    public void Sync()
    {
        lock (_lock)
        {
            if (!_dirty || _writer is null)
                return;
            try
            {
                _writer.FlushToDisk();
            }
            catch (IOException)
            {
            }
            _dirty = false;
            _lastSync = Stopwatch.GetTimestamp();
        }
    }

    public void Dispose()
    {
        Sync();
        lock (_lock)
            CloseWriter();
    }

    private void Acknowledge(Segment segment)
    {
        segment.Acked++;
        if (segment.Acked < segment.Records.Count)
            return;
        if (segment.IsActive)
            CloseWriter();
        try
        {
            File.Delete(segment.Path);
        }
        catch (IOException)
        {
        }
        _budget.Release(segment.Length);
        _segments.Remove(segment);
    }

    private Segment ActiveSegment(out long headerBytes)
    {
        headerBytes = 0;
        if (_writer is not null && _segments.Count > 0 && _segments[^1].IsActive && _segments[^1].Length < _settings.SegmentBytes)
            return _segments[^1];
        CloseWriter();
        var segment = new Segment(_nextSequence++, Path.Combine(_directory, SpoolDirectory.SegmentName(_nextSequence - 1)));
        _writer = SegmentWriter.Create(segment.Path);
        segment.IsActive = true;
        segment.Length = SegmentFormat.FileHeaderLength;
        headerBytes = SegmentFormat.FileHeaderLength; // these stay taken: they were part of the reserve
        _segments.Add(segment);
        return segment;
    }

    private void CloseWriter()
    {
        if (_writer is null)
            return;
        try
        {
            _writer.FlushToDisk();
        }
        catch (IOException)
        {
        }
        _writer.Dispose();
        _writer = null;
        foreach (var segment in _segments)
            segment.IsActive = false;
    }

    private void SyncIfDue()
    {
        long due = (long)(_settings.FsyncInterval.TotalSeconds * Stopwatch.Frequency);
        if (Stopwatch.GetTimestamp() - _lastSync < due)
            return;
        _writer!.FlushToDisk();
        _dirty = false;
        _lastSync = Stopwatch.GetTimestamp();
    }

    // Replayed lines go in pooled buffers, counted against -max-batch-memory like any batch, so a long replay
    // neither allocates per record nor takes memory that live requests were promised.
    private byte[]? RentLines(int length)
    {
        if (_settings.Buffers is not { } pool)
            return GC.AllocateUninitializedArray<byte>(length);
        return pool.TryRent(length, _settings.BufferLimit, out var buffer) ? buffer : null;
    }

    // Reads a record back into lines, checking its frame again: the file may have changed since it was found.
    private bool ReadLines(Segment segment, SegmentRecord record, byte[] lines)
    {
        try
        {
            using var handle = File.OpenHandle(segment.Path);
            int length = SegmentFormat.RecordHeaderLength + record.Header.PayloadLength;
            if (_frame.Length < length)
                _frame = GC.AllocateUninitializedArray<byte>(BufferPool.SizeFor(length));
            var frame = _frame.AsSpan(0, length);
            if (RandomAccess.Read(handle, frame, record.Offset) != length)
                return false;
            var payload = frame[SegmentFormat.RecordHeaderLength..];
            if (!SegmentFormat.HasMarker(frame) || !SegmentFormat.ChecksumMatches(frame, payload))
                return false;
            return SegmentReader.TryReadLines(frame, new SegmentRecord(0, record.Header), lines);
        }
        catch (IOException)
        {
            return false;
        }
    }

    private void Recover()
    {
        foreach (var (sequence, path) in SpoolDirectory.Segments(_directory))
        {
            _nextSequence = Math.Max(_nextSequence, sequence + 1);
            var file = File.ReadAllBytes(path);
            var scan = SegmentReader.Scan(file, _settings.MaxRecordBytes);
            _damagedBytes += scan.TornBytes + scan.CorruptBytes;
            if (scan.State != SegmentState.Readable)
            {
                // Kept as found, never replayed: a newer gateway's file, or not a segment at all.
                _budget.Take(file.Length);
                continue;
            }
            if (scan.TornBytes > 0)
            {
                using var truncate = new FileStream(path, FileMode.Open, FileAccess.Write);
                truncate.SetLength(scan.ValidLength);
            }
            if (scan.Records.Count == 0)
            {
                File.Delete(path);
                continue;
            }
            var segment = new Segment(sequence, path) { Length = scan.ValidLength };
            segment.Records.AddRange(scan.Records);
            _segments.Add(segment);
            _budget.Take(segment.Length);
        }
    }

    private sealed class Segment(long sequence, string path)
    {
        public long Sequence { get; } = sequence;

        public string Path { get; } = path;

        public List<SegmentRecord> Records { get; } = [];

        public long Length { get; set; }

        public bool IsActive { get; set; }

        /// <summary>Records handed to the writer (in order) and records it has delivered.</summary>
        public int Taken { get; set; }

        public int Acked { get; set; }

        public long PendingPoints => Records.Skip(Acked).Sum(r => (long)r.Header.Points);
    }
}
