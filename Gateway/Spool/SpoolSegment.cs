using Microsoft.Win32.SafeHandles;

namespace Polymur.Gateway.Spool;

/// <summary>Why a segment is held back: it cannot be read now, or it was delivered but cannot be deleted.</summary>
internal enum SegmentHold
{
    None,
    Unreadable,
    Undeletable,
}

/// <summary>
/// One segment of a destination's spool as the spool tracks it: its records, how many were handed out for
/// replay (in order) and which of those were delivered (a contiguous prefix, plus any delivered out of order),
/// how many are known durable (fsynced), and the handles it reads and acknowledges through. The spool's lock
/// guards every field.
/// </summary>
internal sealed class SpoolSegment(long sequence, string path)
{
    public long Sequence { get; } = sequence;

    public string Path { get; } = path;

    public List<SegmentRecord> Records { get; } = [];

    /// <summary>Where the valid data ends: the next record of the active segment is written there.</summary>
    public long Length { get; set; }

    /// <summary>What this file takes from -spool-max-size.</summary>
    public long DiskBytes { get; set; }

    public bool IsActive { get; set; }

    /// <summary>Records known to be on disk (fsynced): only those are handed out for replay.</summary>
    public int Synced { get; set; }

    public int Taken { get; set; }

    /// <summary>Records delivered or skipped as damaged, from the first on, without a gap.</summary>
    public int DonePrefix { get; set; }

    /// <summary>Records done past a gap (delivered out of order): folded into the prefix as it reaches them.</summary>
    public HashSet<int> DoneAhead { get; } = [];

    public long PendingPoints { get; set; }

    /// <summary>Read through an open handle: the active segment's is opened with it, so an rm does not take its records away.</summary>
    public SafeFileHandle? Reader { get; set; }

    public AckFile? Ack { get; set; }

    public bool AckFailed { get; set; }

    public SegmentHold Hold { get; set; }

    public long RetryAt { get; set; }

    public bool Done => !IsActive && DonePrefix >= Records.Count;

    public long Fingerprint => Records.Count > 0 ? AckFile.Fingerprint(Records[0].Header) : 0;

    /// <summary>Where the records not yet done begin: every record before it was delivered or skipped.</summary>
    public long DoneOffset => DonePrefix < Records.Count ? Records[DonePrefix].Offset : Length;

    public bool IsDone(int index) => index < DonePrefix || DoneAhead.Contains(index);

    /// <summary>Marks a record done; true when the contiguous prefix moved (so the ack file is worth rewriting).</summary>
    public bool MarkDone(int index)
    {
        if (index < DonePrefix || !DoneAhead.Add(index))
            return false;
        if (index != DonePrefix)
            return false;
        while (DoneAhead.Remove(DonePrefix))
            DonePrefix++;
        return true;
    }

    public void CloseHandles()
    {
        Reader?.Dispose();
        Reader = null;
        Ack?.Dispose();
        Ack = null;
    }
}
