using System.Collections.Concurrent;
using System.IO.Pipelines;

using Polymur.Gateway.Primitives;

namespace Polymur.Gateway.Ingest;

/// <summary>
/// Gunzips a request body (one or more concatenated gzip members, as a polymur-proxy sends after a failed
/// post) into a pooled buffer. The decompressed limit is enforced while inflating, so a gzip bomb costs
/// at most the limit in memory. Like Go's gzip reader: an empty body, a truncated member, or bytes after the
/// last member that are not another member make the whole batch malformed.
/// The buffer comes out of -max-batch-memory, the budget for every batch buffer in use: a decode that would
/// pass it waits (up to <paramref name="memoryWait"/>) for batches to be delivered, then gives up.
/// </summary>
internal sealed class GzipBatchDecoder(BufferPool buffers, long maxBatchSize, int largeBuffersKept = 4, long maxBatchMemory = long.MaxValue, TimeSpan memoryWait = default)
{
    private const int MinInitialBuffer = 64 * 1024;
    private const int TypicalRatio = 10;

    // Inflaters keep a 32 KiB window plus state; reuse a few rather than allocating one per request.
    private readonly ConcurrentBag<GzipInflater> _inflaters = [];

    // Buffers past BufferPool.MaxPooled are all exactly the limit (+1 spare) in size, and a few are kept for
    // reuse, one per decode slot: gzip bombs then reuse them instead of leaving 64 MiB of garbage each.
    private readonly ConcurrentBag<byte[]> _large = [];

    public long MaxBatchSize => maxBatchSize;

    public BufferPool Buffers => buffers;

    /// <summary>
    /// A buffer of at least <paramref name="size"/> bytes within the budget, or null when it has no room now.
    /// Past the pool's largest class it is always one of the exact-size (limit + 1) ones.
    /// </summary>
    private byte[]? TryRent(int size)
    {
        if (size <= BufferPool.MaxPooled)
            return buffers.TryRent(size, maxBatchMemory, out var pooled) ? pooled : null;
        int large = (int)(maxBatchSize + 1);
        if (!buffers.TryReserve(large, maxBatchMemory))
            return null;
        return _large.TryTake(out var kept) ? kept : GC.AllocateUninitializedArray<byte>(large);
    }

    /// <summary>Takes back a buffer this decoder handed out, pooled or one of the kept large ones.</summary>
    public void ReturnBuffer(byte[] buffer)
    {
        if (buffer.Length == maxBatchSize + 1 && buffer.Length > BufferPool.MaxPooled && _large.Count < largeBuffersKept)
        {
            buffers.TrackReturned(buffer);
            _large.Add(buffer);
        }
        else
        {
            buffers.Return(buffer);
        }
    }

    public async ValueTask<DecodedBatch> DecodeAsync(PipeReader body, long? contentLength, CancellationToken cancel)
    {
        var deadline = DateTime.UtcNow + memoryWait;
        var state = new State(this, InitialCapacity(contentLength));
        if (!state.HasBuffer && !await WaitForRoomAsync(state, deadline, cancel))
            return state.Finish();
        var inflater = _inflaters.TryTake(out var pooled) ? pooled : new GzipInflater();
        state.Inflater = inflater;
        bool keepInflater = false;
        try
        {
            while (true)
            {
                var read = await body.ReadAsync(cancel);
                long used = 0;
                // An empty read still lets output pending from before a wait come out.
                var step = read.Buffer.IsEmpty ? state.Feed([], out _) : FeedStep.Continue;
                foreach (var segment in read.Buffer)
                {
                    step = state.Feed(segment.Span, out int consumed);
                    used += consumed;
                    if (step != FeedStep.Continue)
                        break;
                }
                if (step == FeedStep.Bad)
                {
                    body.AdvanceTo(read.Buffer.End);
                    return state.Finish();
                }
                if (step == FeedStep.NeedMemory)
                {
                    // Keep the rest of the body in the pipe; read it again once there is room.
                    body.AdvanceTo(read.Buffer.GetPosition(used));
                    if (!await WaitForRoomAsync(state, deadline, cancel))
                        return state.Finish();
                    continue;
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

    // Waits until the buffer the state needs fits in the budget; false (and the state marked) when time runs out.
    private async ValueTask<bool> WaitForRoomAsync(State state, DateTime deadline, CancellationToken cancel)
    {
        while (true)
        {
            var returned = buffers.Returned.Register();
            if (state.TryTakeBuffer())
                return true;
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
                break;
            try
            {
                await returned.WaitAsync(left, cancel);
            }
            catch (TimeoutException)
            {
                break;
            }
        }
        state.OutOfMemory();
        return false;
    }

    private int InitialCapacity(long? contentLength)
    {
        long guess = contentLength is > 0 ? contentLength.Value * TypicalRatio : MinInitialBuffer;
        // Never more than the limit allows, even when the limit is below the usual starting size.
        return (int)Math.Min(Math.Max(guess, MinInitialBuffer), maxBatchSize + 1);
    }

    private enum FeedStep
    {
        Continue,
        Bad,

        /// <summary>The buffer must grow and the budget has no room yet; the input from the consumed count on is left.</summary>
        NeedMemory,
    }

    /// <summary>The decoding of one body: synchronous, so spans can be used across pipe reads.</summary>
    private sealed class State(GzipBatchDecoder owner, int initialCapacity)
    {
        private byte[] _buffer = owner.TryRent(initialCapacity) ?? [];
        private int _wanted = initialCapacity;
        private int _length;
        private int _members;
        private bool _inMember;
        private DecodeStatus _status = DecodeStatus.Ok;
        private InflateStep _resume = InflateStep.NeedInput;

        public GzipInflater Inflater { get; set; } = null!;

        public bool HasBuffer => _buffer.Length > 0;

        /// <summary>Inflates one input segment, saying how much of it was taken.</summary>
        public FeedStep Feed(ReadOnlySpan<byte> input, out int consumedTotal)
        {
            consumedTotal = 0;
            var step = _resume;
            _resume = InflateStep.NeedInput;
            while (!input.IsEmpty || step == InflateStep.OutputFull)
            {
                if (!_inMember)
                {
                    // Every member starts from a clean state: a pooled inflater may come from a request that
                    // ended inside a member (a truncated body), and must not continue that stream.
                    Inflater.Reset();
                    _inMember = true;
                    _members++;
                }
                // Keep one byte spare for a final LF; the usable capacity never passes the limit.
                int capacity = (int)Math.Min(_buffer.Length - 1, owner.MaxBatchSize);
                if (_length == capacity)
                {
                    if (_length >= owner.MaxBatchSize)
                        return Fail(DecodeStatus.TooLarge);
                    _wanted = (int)Math.Min((long)_buffer.Length * 2, owner.MaxBatchSize + 1);
                    if (!TryTakeBuffer())
                    {
                        _resume = step; // output may be pending in the inflater with no input left
                        return FeedStep.NeedMemory;
                    }
                    capacity = (int)Math.Min(_buffer.Length - 1, owner.MaxBatchSize);
                }

                step = Inflater.Inflate(input, _buffer.AsSpan(_length, capacity - _length), out int consumed, out int written);
                input = input[consumed..];
                consumedTotal += consumed;
                _length += written;
                if (step == InflateStep.Corrupt)
                    return Fail(DecodeStatus.Malformed);
                if (step == InflateStep.MemberEnd)
                    _inMember = false;
            }
            return FeedStep.Continue;
        }

        /// <summary>Moves to a buffer of the wanted size if the budget has room for it.</summary>
        public bool TryTakeBuffer()
        {
            if (_buffer.Length >= _wanted)
                return true;
            var bigger = owner.TryRent(_wanted);
            if (bigger is null)
                return false;
            _buffer.AsSpan(0, _length).CopyTo(bigger);
            if (_buffer.Length > 0)
                owner.ReturnBuffer(_buffer);
            _buffer = bigger;
            return true;
        }

        public void OutOfMemory() => _status = DecodeStatus.NoMemory;

        private FeedStep Fail(DecodeStatus status)
        {
            _status = status;
            return FeedStep.Bad;
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
