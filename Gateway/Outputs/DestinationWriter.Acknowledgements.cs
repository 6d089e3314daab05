using System.Diagnostics;

namespace Polymur.Gateway.Outputs;

/// <summary>
/// The writer's accounting: what a connection took joins the unacknowledged tail, what its peer acknowledged is
/// delivered, the deadline on acknowledgements, and what a lost connection leaves to send again.
/// </summary>
internal sealed partial class DestinationWriter
{
    // Acknowledged bytes stood still for the timeout while some were outstanding.
    private bool PastDeadline() => !_tail.IsEmpty && Stopwatch.GetElapsedTime(_progressAt) >= _timeout;

    private async Task DeclareDownAsync()
    {
        var connection = _connection!;
        LogNoProgress(_destination.Name, _timeout.TotalSeconds, _streamEnd - connection.ReadAcknowledged().Payload);
        _destination.Counters.AddTimeout();
        await LoseConnectionAsync(reset: true);
        SpoolPending(); // its redial may take the whole timeout again
    }

    // Reads how far the peer acknowledged: writes acknowledged whole are delivered.
    private void TakeAcknowledged()
    {
        var acknowledged = _connection!.ReadAcknowledged();
        if (acknowledged.Wire != _wireAcknowledged)
        {
            _wireAcknowledged = acknowledged.Wire;
            _progressAt = Stopwatch.GetTimestamp();
        }
        while (_tail.TryTakeAcknowledged(acknowledged.Payload, out var write))
            Delivered(write, write.PointsLeft, whole: true);
    }

    // The peer's TCP acknowledged these lines of a write: delivered once. A replayed record leaves the spool's
    // pending count, and is acknowledged to the spool once whole; the buffer goes back once the write is done.
    private void Delivered(PendingWrite write, int lines, bool whole)
    {
        if (write.Again)
        {
            if (whole)
                _recent.Remember(write); // counted the first time; kept again, as a peer that dies twice may lose it twice
            return;
        }
        var counters = _destination.Counters;
        counters.AddDelivered(lines);
        if (write.Replayed is not null)
        {
            counters.AddUnspooled(lines);
            if (whole)
                _destination.Spool!.Acknowledge(write.Replayed);
        }
        if (whole)
            _recent.Remember(write); // its lease goes with it
    }

    // The connection took the first <paramref name="count"/> pending writes whole: they join the tail. A live batch
    // gives back its queue room and its reference (its in-flight slot) now, and keeps a lease on its buffer until
    // it is acknowledged.
    private void Written(int count)
    {
        long lines = 0, bytes = 0;
        for (int i = 0; i < count; i++)
        {
            var p = _pending[i];
            if (!p.Sent)
            {
                if (p.Replayed is null)
                    _destination.Queue.Complete(p.Batch, p.PointsLeft);
                p.Batch.Lease();
                p.Batch.Release();
                p = p with { Sent = true };
            }
            _streamEnd += p.Data.Count;
            lines += p.PointsLeft;
            bytes += p.Data.Count;
            _tail.Add(p, _streamEnd);
        }
        _pending.RemoveRange(0, count);
        _destination.Counters.AddWritten(lines, bytes);
    }

    // A send failed after the kernel took bytesSent bytes: the writes it took whole join the tail (their lines may
    // have been acknowledged before the failure); the one it cut stays pending, to go again whole.
    private void WrittenPartly(long bytesSent)
    {
        int whole = 0;
        while (whole < _pending.Count && bytesSent >= _pending[whole].Data.Count)
            bytesSent -= _pending[whole++].Data.Count;
        Written(whole);
    }

    // The connection is gone: what its peer acknowledged is delivered, the rest goes out again first.
    private async Task LoseConnectionAsync(bool reset, bool resend = true)
    {
        var connection = _connection!;
        _connection = null;
        _destination.Connected = false;
        _destination.Down = true;
        _downSince = Stopwatch.GetTimestamp();
        try
        {
            long acknowledged = connection.ReadAcknowledged().Payload; // before a reset closes the socket
            if (reset)
                connection.Reset();
            ResendTail(acknowledged, resend);
            // The peer closed or reset it: it may have lost what it acknowledged last, unread.
            if (resend && !reset)
                _destination.Counters.AddResent(_recent.MoveTo(_pending));
            else
                _recent.Clear();
        }
        finally
        {
            await connection.DisposeAsync();
        }
    }

    private void ResendTail(long acknowledged, bool resend)
    {
        while (_tail.TryTakeAcknowledged(acknowledged, out var write))
            Delivered(write, write.PointsLeft, whole: true);
        // Past the whole writes: the start of the one a failed send cut, as far as its lines were acknowledged whole.
        if (_tail.IsEmpty && acknowledged > _streamEnd && _pending.Count > 0)
            AcknowledgeCut(acknowledged - _streamEnd);
        long lines = _tail.MoveTo(_pending, acknowledged, out var partly, out int acknowledgedLines);
        if (acknowledgedLines > 0)
            Delivered(partly, acknowledgedLines, whole: false);
        if (lines > 0 && resend)
            _destination.Counters.AddResent(lines);
    }

    private void AcknowledgeCut(long bytes)
    {
        var cut = _pending[0];
        var prefix = cut.Data.AsSpan(0, (int)Math.Min(bytes, cut.Data.Count));
        int lastLf = prefix.LastIndexOf((byte)'\n');
        if (lastLf < 0)
            return;
        int lines = prefix[..(lastLf + 1)].Count((byte)'\n');
        Delivered(cut, lines, whole: false);
        if (!cut.Sent && cut.Replayed is null)
            _destination.Queue.Complete(cut.Batch, lines);
        _pending[0] = cut.Advance(lastLf + 1, lines);
    }
}
