namespace Polymur.Gateway.Spool;

/// <summary>
/// Reading a spool back at start, whatever it holds. Every entry named like a segment is looked at before it is
/// opened (never following a link, never blocking on a FIFO) and read in pieces of
/// <see cref="SegmentReader.BufferBytes"/>, never whole; what is not a readable segment (a FIFO, a directory, a
/// file that cannot be read, a zero-filled or foreign file, a damaged tail longer than any record) is kept as it
/// is, counted against -spool-max-size by the disk it takes, logged and skipped. Records before a segment's ack
/// file's offset were delivered before the stop and are not replayed again.
/// </summary>
internal sealed partial class DestinationSpool
{
    private void Recover()
    {
        var acks = SpoolDirectory.AckFiles(_directory);
        foreach (var (sequence, path) in SpoolDirectory.Segments(_directory))
        {
            _nextSequence = Math.Max(_nextSequence, sequence + 1);
            Guard("recovery of " + path, () => RecoverSegment(sequence, path));
        }
        foreach (var (sequence, path) in acks)
        {
            // A segment's number is never used again while its ack file is around.
            _nextSequence = Math.Max(_nextSequence, sequence + 1);
            if (!_segments.Any(s => s.Sequence == sequence) && !_held.Any(h => h.Path == Path.ChangeExtension(path, SegmentFormat.Extension)))
                TryDelete(path);
        }
        Reap();
    }

    private void RecoverSegment(long sequence, string path)
    {
        using var handle = SpoolFiles.OpenRegular(path, out var facts, out string? error);
        if (handle is null)
        {
            if (facts.Kind != EntryKind.Missing)
                HoldFile(path, facts.Kind == EntryKind.Regular ? facts.DiskBytes : 0, error ?? "cannot be opened");
            return;
        }
        SegmentScan scan;
        try
        {
            scan = SegmentReader.Scan(SegmentSource.Of(handle, facts.Size), _settings.MaxRecordBytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            HoldFile(path, facts.DiskBytes, SpoolFiles.Reason(e));
            return;
        }
        switch (scan.State)
        {
            case SegmentState.Empty:
                // A crash right after the file was made: it holds nothing.
                if (!TryDelete(path))
                    HoldFile(path, facts.DiskBytes, "empty, and cannot be deleted");
                return;
            case SegmentState.NotASegment:
                _damagedBytes += facts.Size;
                LogNotASegment(_destination, path, facts.Size);
                HoldFile(path, facts.DiskBytes, "not a spool segment");
                return;
            case SegmentState.NewerVersion:
                HoldFile(path, facts.DiskBytes, "written by a newer gateway; left as it is");
                return;
        }
        _damagedBytes += scan.CorruptBytes + scan.TornBytes;
        _corruptPoints += scan.CorruptPoints;
        _unreported += scan.CorruptPoints; // reported to the writer as spool_corrupt at its first replay
        bool cut = scan.TornBytes > 0 && scan.TornBytes <= SegmentWriter.MaxFrameLength(_settings.MaxRecordBytes) && Truncate(path, scan.ValidLength);
        long tail = cut ? 0 : scan.TornBytes;
        if (scan.CorruptBytes + tail > 0)
            LogDamagedAtStart(_destination, path, scan.CorruptBytes + scan.TornBytes, scan.CorruptRegions + (scan.TornBytes > 0 ? 1 : 0), scan.CorruptPoints);
        if (scan.Records.Count == 0)
        {
            // A header and nothing else is deleted; one with damage and not a record is kept for whoever looks.
            if (scan.CorruptBytes + tail > 0 || !TryDelete(path))
                HoldFile(path, facts.DiskBytes, $"{scan.CorruptBytes + tail} damaged bytes and not one whole record");
            return;
        }
        var segment = new SpoolSegment(sequence, path)
        {
            Length = scan.ValidLength,
            DiskBytes = cut ? Math.Min(scan.ValidLength, Math.Max(facts.Allocated, SegmentFormat.FileHeaderLength)) : facts.DiskBytes,
        };
        segment.Records.AddRange(scan.Records);
        segment.Synced = segment.Records.Count;
        if (AckFile.Read(path, segment.Fingerprint) is long delivered)
        {
            // Records that start before the offset were delivered; an offset past the last record covers them all.
            while (segment.DonePrefix < segment.Records.Count && segment.Records[segment.DonePrefix].Offset < delivered)
                segment.DonePrefix++;
            segment.Taken = segment.DonePrefix;
        }
        for (int i = segment.DonePrefix; i < segment.Records.Count; i++)
            segment.PendingPoints += segment.Records[i].Header.Points;
        _budget.Take(segment.DiskBytes);
        _segments.Add(segment);
    }

    private bool Truncate(string path, long length)
    {
        try
        {
            // The handle is read-only: open for writing only to cut, never following a link (it was looked at).
            using var write = File.OpenHandle(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
            RandomAccess.SetLength(write, length);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogCannotCut(_destination, path, SpoolFiles.Reason(e));
            return false;
        }
    }

    private void HoldFile(string path, long diskBytes, string reason)
    {
        _held.Add(new HeldFile(path, diskBytes, reason));
        _budget.Take(diskBytes);
        LogSkipped(_destination, path, reason);
    }
}
