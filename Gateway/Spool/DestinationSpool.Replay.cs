using System.Diagnostics;

namespace Polymur.Gateway.Spool;

/// <summary>
/// Reading records back, saving how far each segment was delivered, and letting go of finished segments. A
/// segment that cannot be read now is held back (and tried again after <see cref="SpoolSettings.RetryAfterFailure"/>);
/// one delivered but not deletable is kept, still counted against -spool-max-size, and its delete retried. Neither
/// stops the replay of the segments after it.
/// </summary>
internal sealed partial class DestinationSpool
{
    private enum ReadResult
    {
        Ok,

        /// <summary>The bytes are not the record found at start (flipped, overwritten): skipped and counted.</summary>
        Damaged,

        /// <summary>The file is gone (removed from under the spool): its records are lost.</summary>
        Gone,

        /// <summary>It cannot be read now (permissions, EIO): held back, kept, tried again later.</summary>
        Unreadable,
    }

    private ReadResult ReadRecord(SpoolSegment segment, SegmentRecord record, byte[] lines, out string? error)
    {
        error = null;
        if (segment.Reader is null)
        {
            segment.Reader = SpoolFiles.OpenRegular(segment.Path, out var facts, out error);
            if (segment.Reader is null)
                return facts.Kind == EntryKind.Missing ? ReadResult.Gone : ReadResult.Unreadable;
        }
        try
        {
            return SegmentReader.TryReadLines(SegmentSource.Of(segment.Reader, segment.Length), record, lines) ? ReadResult.Ok : ReadResult.Damaged;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = SpoolFiles.Reason(e);
            CloseReader(segment);
            return ReadResult.Unreadable;
        }
    }

    private static void CloseReader(SpoolSegment segment)
    {
        segment.Reader?.Dispose();
        segment.Reader = null;
    }

    private void HoldBack(SpoolSegment segment, SegmentHold hold, string reason)
    {
        bool first = segment.Hold != hold;
        segment.Hold = hold;
        segment.RetryAt = Stopwatch.GetTimestamp() + (long)(_settings.RetryAfterFailure.TotalSeconds * Stopwatch.Frequency);
        CloseReader(segment);
        if (segment == _active)
            CloseWriter(); // new records go to a fresh segment, which can be read
        if (first || _heldLog.TryEnter(out _))
        {
            if (hold == SegmentHold.Unreadable)
                LogUnreadable(_destination, segment.Path, reason, segment.Records.Count - segment.Taken, _settings.RetryAfterFailure.TotalSeconds);
            else
                LogUndeletable(_destination, segment.Path, reason, segment.DiskBytes, _settings.RetryAfterFailure.TotalSeconds);
        }
    }

    // Segments held back whose retry is due: an undeletable one is tried again here (the fsync timer calls it).
    private void RetryHeld()
    {
        long now = Stopwatch.GetTimestamp();
        foreach (var segment in _segments)
        {
            if (segment.Hold == SegmentHold.Undeletable && now >= segment.RetryAt)
            {
                segment.Hold = SegmentHold.None;
                segment.RetryAt = 0;
            }
        }
        Reap();
    }

    // One pwrite of the ack file: how far this segment was delivered, for the next start.
    private void SaveProgress(SpoolSegment segment)
    {
        if (segment.AckFailed || segment.Records.Count == 0 || segment.Done)
            return;
        try
        {
            segment.Ack ??= AckFile.Open(segment.Path);
            segment.Ack.Write(segment.DoneOffset, segment.Fingerprint);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            segment.AckFailed = true;
            segment.Ack?.Dispose();
            segment.Ack = null;
            if (_ackLog.TryEnter(out _))
                LogAckNotSaved(_destination, AckFile.PathFor(segment.Path), SpoolFiles.Reason(e));
        }
    }

    /// <summary>
    /// Deletes the segments whose every record is done (the active one too: it is closed first), never while
    /// iterating: the callers iterate <see cref="_segments"/>, this runs after them.
    /// </summary>
    private void Reap()
    {
        if (_active is { } active && active.Records.Count > 0 && active.DonePrefix >= active.Records.Count && _kept.Count == 0)
            CloseWriter();
        for (int i = _segments.Count - 1; i >= 0; i--)
        {
            var segment = _segments[i];
            if (!segment.Done || segment.Hold == SegmentHold.Undeletable)
                continue;
            segment.CloseHandles();
            try
            {
                File.Delete(segment.Path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                HoldBack(segment, SegmentHold.Undeletable, SpoolFiles.Reason(e));
                continue;
            }
            TryDelete(AckFile.PathFor(segment.Path)); // one left behind is told apart by its fingerprint
            _budget.Release(segment.DiskBytes);
            _segments.RemoveAt(i);
        }
    }
}
