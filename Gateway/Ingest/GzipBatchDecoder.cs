using System.Collections.Concurrent;
using System.IO.Pipelines;

using Polymur.Gateway.Outputs;

namespace Polymur.Gateway.Ingest;

/// <summary>
/// Gunzips a request body (one or more concatenated gzip members, as a polymur-proxy sends after a failed
/// post) into a pooled buffer. The decompressed limit is enforced while inflating, so a gzip bomb costs
/// at most the limit in memory. Like Go's gzip reader: an empty body, a truncated member, or bytes after the
/// last member that are not another member make the whole batch malformed.
/// </summary>
internal sealed class GzipBatchDecoder(BufferPool buffers, long maxBatchSize, int largeBuffersKept = 4)
{
    private const int MinInitialBuffer = 64 * 1024;
    private const int TypicalRatio = 10;

    // Inflaters keep a 32 KiB window plus state; reuse a few rather than allocating one per request.
    private readonly ConcurrentBag<GzipInflater> _inflaters = [];

    // Buffers past BufferPool.MaxPooled are all exactly the limit (+1 spare) in size, and a few are kept for
    // reuse, one per decode slot: gzip bombs then reuse them instead of leaving 64 MiB of garbage each.
    private readonly ConcurrentBag<byte[]> _large = [];

    public long MaxBatchSize => maxBatchSize;

    private byte[] RentLarge() => _large.TryTake(out var buffer) ? buffer : GC.AllocateUninitializedArray<byte>((int)(maxBatchSize + 1));

    public BufferPool Buffers => buffers;

    /// <summary>Takes back a buffer this decoder handed out, pooled or one of the kept large ones.</summary>
    public void ReturnBuffer(byte[] buffer)
    {
        if (buffer.Length <= BufferPool.MaxPooled)
            buffers.Return(buffer);
        else if (buffer.Length == maxBatchSize + 1 && _large.Count < largeBuffersKept)
            _large.Add(buffer);
    }

    public async ValueTask<DecodedBatch> DecodeAsync(PipeReader body, long? contentLength, CancellationToken cancel)
    {
        var inflater = _inflaters.TryTake(out var pooled) ? pooled : new GzipInflater();
        var state = new State(this, inflater, InitialCapacity(contentLength));
        bool keepInflater = false;
        try
        {
            while (true)
            {
                var read = await body.ReadAsync(cancel);
                foreach (var segment in read.Buffer)
                {
                    if (!state.Feed(segment.Span))
                    {
                        body.AdvanceTo(read.Buffer.End);
                        return state.Finish();
                    }
                }
                body.AdvanceTo(read.Buffer.End);
                if (read.IsCompleted)
                    break;
            }
            keepInflater = true;
            return state.Finish();
        }
        catch
        {
            state.Abandon();
            throw;
        }
        finally
        {
            if (keepInflater && _inflaters.Count < Environment.ProcessorCount * 4)
                _inflaters.Add(inflater);
            else
                inflater.Dispose();
        }
    }

    private int InitialCapacity(long? contentLength)
    {
        long guess = contentLength is > 0 ? contentLength.Value * TypicalRatio : MinInitialBuffer;
        // Never more than the limit allows, even when the limit is below the usual starting size.
        return (int)Math.Min(Math.Max(guess, MinInitialBuffer), maxBatchSize + 1);
    }

    /// <summary>The decoding of one body: synchronous, so spans can be used across pipe reads.</summary>
    private struct State(GzipBatchDecoder owner, GzipInflater inflater, int initialCapacity)
    {
        private byte[] _buffer = owner.Buffers.Rent(initialCapacity);
        private int _length;
        private int _members;
        private bool _inMember;
        private DecodeStatus _status = DecodeStatus.Ok;

        /// <summary>Inflates one input segment. False once the batch is known to be bad.</summary>
        public bool Feed(ReadOnlySpan<byte> input)
        {
            var step = InflateStep.NeedInput;
            while (!input.IsEmpty || step == InflateStep.OutputFull)
            {
                if (!_inMember)
                {
                    // Every member starts from a clean state: a pooled inflater may come from a request that
                    // ended inside a member (a truncated body), and must not continue that stream.
                    inflater.Reset();
                    _inMember = true;
                    _members++;
                }
                // Keep one byte spare for a final LF; the usable capacity never passes the limit.
                int capacity = (int)Math.Min(_buffer.Length - 1, owner.MaxBatchSize);
                if (_length == capacity && !Grow())
                    return Fail(DecodeStatus.TooLarge);
                capacity = (int)Math.Min(_buffer.Length - 1, owner.MaxBatchSize);

                step = inflater.Inflate(input, _buffer.AsSpan(_length, capacity - _length), out int consumed, out int written);
                input = input[consumed..];
                _length += written;
                if (step == InflateStep.Corrupt)
                    return Fail(DecodeStatus.Malformed);
                if (step == InflateStep.MemberEnd)
                    _inMember = false;
            }
            return true;
        }

        private bool Grow()
        {
            if (_length >= owner.MaxBatchSize)
                return false;
            long wanted = Math.Min((long)_buffer.Length * 2, owner.MaxBatchSize + 1);
            var bigger = wanted <= BufferPool.MaxPooled ? owner.Buffers.Rent((int)wanted) : owner.RentLarge();
            _buffer.AsSpan(0, _length).CopyTo(bigger);
            owner.ReturnBuffer(_buffer);
            _buffer = bigger;
            return true;
        }

        private bool Fail(DecodeStatus status)
        {
            _status = status;
            return false;
        }

        public DecodedBatch Finish()
        {
            // A body with no member, or one that stops inside a member, is truncated.
            if (_status == DecodeStatus.Ok && (_members == 0 || _inMember))
                _status = DecodeStatus.Malformed;
            if (_status != DecodeStatus.Ok)
            {
                Abandon();
                return new DecodedBatch { Decoder = owner, Status = _status, Buffer = [] };
            }
            return new DecodedBatch { Decoder = owner, Status = DecodeStatus.Ok, Buffer = _buffer, Length = _length, Members = _members };
        }

        public void Abandon()
        {
            if (_buffer.Length > 0)
                owner.ReturnBuffer(_buffer);
            _buffer = [];
        }
    }
}
