using System.Buffers;
using System.Diagnostics;

namespace Polymur.Gateway.Spool;

/// <summary>
/// Writing and fsync. The frames written since the last good fsync are kept in memory (within
/// <see cref="SpoolSettings.UnsyncedLimit"/>, all spools together; past it an append fsyncs at once), because a
/// failed fsync may already have dropped their pages (the kernel marks them clean either way, so the next fsync
/// would say nothing). On a failed fsync the file is cut back to its last good fsync and those frames are written
/// again to a fresh segment and fsynced; if that fails too, their points are counted as lost, and said.
/// </summary>
internal sealed partial class DestinationSpool
{
    private readonly List<KeptFrame> _kept = [];
    private SpoolSegment? _active;
    private long _lastSync = Stopwatch.GetTimestamp();
    private bool _dirty;

    private readonly record struct KeptFrame(byte[] Buffer, int Length);

    private SpoolSegment ActiveSegment(out long headerBytes)
    {
        headerBytes = 0;
        if (_writer is not null && _active is { } active && active.Length < _settings.SegmentBytes)
            return active;
        CloseWriter();
        var (segment, writer) = CreateSegment();
        _writer = writer;
        segment.IsActive = true;
        _active = segment;
        headerBytes = SegmentFormat.FileHeaderLength; // these stay taken: they were part of the reserve
        _segments.Add(segment);
        return segment;
    }

    // A new, empty segment file, and a read handle on it: replay reads through that, so an rm of the file while it
    // is in use does not take its records away from this run.
    private (SpoolSegment Segment, SegmentWriter Writer) CreateSegment()
    {
        long sequence = _nextSequence++;
        string path = Path.Combine(_directory, SpoolDirectory.SegmentName(sequence));
        var writer = SegmentWriter.Create(path);
        var segment = new SpoolSegment(sequence, path) { Length = SegmentFormat.FileHeaderLength, DiskBytes = SegmentFormat.FileHeaderLength };
        segment.Reader = SpoolFiles.OpenRegular(path, out _, out _);
        return (segment, writer);
    }

    // Keeps a written frame until the next good fsync; past the limit of all spools, fsyncs now instead.
    private void Keep(SpoolSegment segment, byte[] frame, int length)
    {
        _dirty = true;
        _kept.Add(new KeptFrame(frame, length));
        if (_settings.Unsynced.TryTake(length))
            return;
        _settings.Unsynced.Take(length);
        SyncLocked();
    }

    private void SyncIfDue()
    {
        long due = (long)(_settings.FsyncInterval.TotalSeconds * Stopwatch.Frequency);
        if (Stopwatch.GetTimestamp() - _lastSync >= due)
            SyncLocked();
    }

    /// <summary>fsyncs the active segment if it was written to; false when that failed (and was dealt with).</summary>
    private bool SyncLocked()
    {
        if (!_dirty || _writer is null || _active is null)
            return true;
        var active = _active;
        try
        {
            Fsync(_writer, active.Path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _fsyncFailures++;
            Rewrite(active, e);
            return false;
        }
        _dirty = false;
        _lastSync = Stopwatch.GetTimestamp();
        active.Synced = active.Records.Count;
        ReleaseKept(_kept);
        return true;
    }

    private void Fsync(SegmentWriter writer, string path)
    {
        if (_settings.FsyncFault?.Invoke(path) is { } fault)
            throw fault; // a test's EIO: the one failure a test machine cannot produce for real
        writer.FlushToDisk();
    }

    // The fsync of the active segment failed: what was written since the last good one may not be on disk. That
    // tail is cut off and the file closed; the kept frames go to a fresh segment, or are counted as lost.
    private void Rewrite(SpoolSegment failed, Exception cause)
    {
        int first = failed.Synced, count = failed.Records.Count - first;
        long points = 0;
        for (int i = first; i < failed.Records.Count; i++)
            points += failed.Records[i].Header.Points;
        LogFsyncFailed(_destination, failed.Path, SpoolFiles.Reason(cause), count, points);
        long cut = count > 0 ? failed.Records[first].Offset : failed.Length;
        failed.Records.RemoveRange(first, count);
        failed.PendingPoints -= points;
        failed.Length = cut;
        try
        {
            _writer!.Truncate(cut);
            _budget.Release(failed.DiskBytes - cut);
            failed.DiskBytes = cut;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Left as long as it is (and counted so); a restart may replay those records: duplicates, not a loss.
        }
        _writer!.Dispose();
        _writer = null;
        failed.IsActive = false;
        _active = null;
        _dirty = false;
        var frames = _kept.ToArray();
        _kept.Clear();
        try
        {
            if (count > 0)
                WriteAgain(frames, points);
        }
        finally
        {
            ReleaseKept(frames);
        }
    }

    private void WriteAgain(KeptFrame[] frames, long points)
    {
        SpoolSegment? copy = null;
        SegmentWriter? writer = null;
        try
        {
            (copy, writer) = CreateSegment();
            foreach (var frame in frames)
            {
                var span = frame.Buffer.AsSpan(0, frame.Length);
                writer.Write(span);
                copy.Records.Add(new SegmentRecord(copy.Length, SegmentFormat.ReadRecordHeader(span)));
                copy.Length += frame.Length;
            }
            Fsync(writer, copy.Path);
            copy.Synced = copy.Records.Count;
            copy.PendingPoints = points;
            copy.DiskBytes = copy.Length;
            _budget.Take(copy.DiskBytes); // promised already: the cut file gave them back
            _segments.Add(copy);
            LogRewritten(_destination, copy.Path, frames.Length, points);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _lostPoints += points;
            _unreported += points;
            LogLost(_destination, points, frames.Length, SpoolFiles.Reason(e));
            FailFor(_settings.RetryAfterFailure);
            if (copy is not null)
            {
                copy.CloseHandles();
                TryDelete(copy.Path);
            }
        }
        finally
        {
            writer?.Dispose();
        }
    }

    private void ReleaseKept(IReadOnlyCollection<KeptFrame> frames)
    {
        long bytes = 0;
        foreach (var frame in frames)
        {
            bytes += frame.Length;
            ArrayPool<byte>.Shared.Return(frame.Buffer);
        }
        _settings.Unsynced.Release(bytes);
        if (ReferenceEquals(frames, _kept))
            _kept.Clear();
    }

    /// <summary>Closes the active segment after a last fsync (a failure there is dealt with as any other).</summary>
    private void CloseWriter()
    {
        if (_writer is null)
            return;
        SyncLocked();
        if (_writer is null)
            return;
        _writer.Dispose();
        _writer = null;
        if (_active is not null)
            _active.IsActive = false;
        _active = null;
    }

    private static bool TryDelete(string path)
    {
        try
        {
            File.Delete(path);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
