using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.IO.Pipelines;

using Polymur.Gateway.Primitives;

namespace Polymur.Gateway.Ingest;

/// <summary>
/// Gunzips a request body (one or more concatenated gzip members, as a polymur-proxy sends after a failed
/// post) into a pooled buffer, with libdeflate, a whole member per call. The body is read whole first (Kestrel
/// caps it at -max-body-size). Each member's ISIZE trailer is a hint for the output size, never trusted: a member
/// that does not fit is inflated again into a buffer twice the size, up to the decompressed limit, so a gzip bomb
/// costs at most the limit in memory and about twice the limit in work before its 413. Like Go's gzip reader: an
/// empty body, a truncated member, or bytes after the last member that are not another member make the whole
/// batch malformed. The output buffer comes out of -max-batch-memory, the budget for every batch buffer in use:
/// a decode that would pass it waits (up to <paramref name="memoryWait"/>) for batches to be delivered, then
/// gives up.
/// </summary>
internal sealed class GzipBatchDecoder(BufferPool buffers, long maxBatchSize, int largeBuffersKept = 4, long maxBatchMemory = long.MaxValue, TimeSpan memoryWait = default)
{
    private const int MinInitialBuffer = 64 * 1024;

    // An ISIZE claiming more than this many times the compressed size is not believed at first (metric batches
    // inflate about 6.5x); a bomb that really is that big grows there by doubling.
    private const int TrustedRatio = 64;

    private const int GzipTrailer = 8, GzipMinimumMember = 18;

    // A decompressor is about 32 KiB of tables; reuse a few rather than allocating one per request.
    private readonly ConcurrentBag<Libdeflate> _decompressors = [];

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
        var (compressed, length) = await ReadWholeAsync(body, contentLength, cancel);
        var output = new Output(this);
        if (length < 0)
        {
            buffers.Return(compressed);
            return output.Fail(DecodeStatus.Malformed);
        }
        var decompressor = _decompressors.TryTake(out var pooled) ? pooled : new Libdeflate();
        try
        {
            if (!await output.GrowAsync(FirstGuess(compressed.AsSpan(0, length)), deadline, cancel))
                return output.Fail(DecodeStatus.NoMemory);
            int offset = 0, members = 0;
            while (offset < length)
            {
                var result = decompressor.Inflate(compressed.AsSpan(offset, length - offset), output.Free, out int consumed, out int written);
                if (result == MemberResult.Corrupt)
                    return output.Fail(DecodeStatus.Malformed);
                if (result == MemberResult.OutputFull)
                {
                    if (output.AtLimit)
                        return output.Fail(DecodeStatus.TooLarge);
                    if (!await output.GrowAsync(output.Capacity * 2L, deadline, cancel))
                        return output.Fail(DecodeStatus.NoMemory);
                    continue; // the same member again, into the bigger buffer
                }
                offset += consumed;
                output.Wrote(written);
                members++;
            }
            // A body with no member at all is as malformed as a truncated one.
            return members == 0 ? output.Fail(DecodeStatus.Malformed) : output.Finish(members, length);
        }
        catch
        {
            output.Fail(DecodeStatus.Malformed);
            throw;
        }
        finally
        {
            buffers.Return(compressed);
            if (_decompressors.Count < Environment.ProcessorCount * 4)
                _decompressors.Add(decompressor);
            else
                decompressor.Dispose();
        }
    }

    // The last member's ISIZE (the whole output for the usual one-member body), believed up to TrustedRatio times
    // the compressed size and never past the limit.
    private long FirstGuess(ReadOnlySpan<byte> compressed)
    {
        long isize = compressed.Length >= GzipMinimumMember ? BinaryPrimitives.ReadUInt32LittleEndian(compressed[^4..]) : 0;
        return Math.Min(Math.Max(Math.Min(isize, (long)compressed.Length * TrustedRatio) + 1, MinInitialBuffer), maxBatchSize + 1);
    }

    // The body, whole, in a pooled buffer (sized from Content-Length when there is one). Kestrel stops a body
    // past -max-body-size, and one sent too slowly, with the exceptions the handler answers. A body that does not
    // start as gzip is given up on (length -1) as soon as its first bytes show it, not after it has all come in.
    private async ValueTask<(byte[] Buffer, int Length)> ReadWholeAsync(PipeReader body, long? contentLength, CancellationToken cancel)
    {
        var buffer = buffers.Rent((int)Math.Clamp(contentLength ?? 0, GzipTrailer, BufferPool.MaxPooled));
        int length = 0;
        try
        {
            while (true)
            {
                var read = await body.ReadAsync(cancel);
                foreach (var segment in read.Buffer)
                {
                    if (buffer.Length - length < segment.Length)
                        buffers.Grow(ref buffer, length, segment.Length);
                    segment.Span.CopyTo(buffer.AsSpan(length));
                    length += segment.Length;
                }
                body.AdvanceTo(read.Buffer.End);
                if (!StartsAsGzip(buffer.AsSpan(0, length)))
                    return (buffer, -1);
                if (read.IsCompleted)
                    return (buffer, length);
            }
        }
        catch
        {
            buffers.Return(buffer);
            throw;
        }
    }

    // The magic bytes and the deflate method, as far as they have arrived.
    private static bool StartsAsGzip(ReadOnlySpan<byte> start) =>
        start.Length == 0 || (start[0] == 0x1f && (start.Length < 2 || start[1] == 0x8b) && (start.Length < 3 || start[2] == 8));

    /// <summary>The output of one decode: a buffer from the budget that grows, keeping what was inflated into it.</summary>
    private sealed class Output(GzipBatchDecoder owner)
    {
        private byte[] _buffer = [];
        private int _length;

        /// <summary>What the inflater may fill: one byte stays spare for a final LF, and the limit is never passed.</summary>
        public Span<byte> Free => _buffer.AsSpan(_length, Capacity - _length);

        public int Capacity => (int)Math.Min(Math.Max(_buffer.Length - 1, 0), owner.MaxBatchSize);

        public bool AtLimit => Capacity >= owner.MaxBatchSize;

        public void Wrote(int bytes) => _length += bytes;

        /// <summary>Moves to a buffer of at least <paramref name="wanted"/> bytes, waiting for room in the budget; false when time ran out.</summary>
        public async ValueTask<bool> GrowAsync(long wanted, DateTime deadline, CancellationToken cancel)
        {
            int size = (int)Math.Min(Math.Max(wanted, MinInitialBuffer), owner.MaxBatchSize + 1);
            while (true)
            {
                var returned = owner.Buffers.Returned.Register();
                var bigger = owner.TryRent(size);
                if (bigger is not null)
                {
                    _buffer.AsSpan(0, _length).CopyTo(bigger);
                    if (_buffer.Length > 0)
                        owner.ReturnBuffer(_buffer);
                    _buffer = bigger;
                    return true;
                }
                if (!await SpaceSignal.WaitAsync(returned, deadline, cancel))
                    return false;
            }
        }

        public DecodedBatch Fail(DecodeStatus status)
        {
            if (_buffer.Length > 0)
                owner.ReturnBuffer(_buffer);
            _buffer = [];
            return new DecodedBatch { Decoder = owner, Status = status, Buffer = [] };
        }

        public DecodedBatch Finish(int members, int compressedLength)
        {
            var batch = new DecodedBatch { Decoder = owner, Status = DecodeStatus.Ok, Buffer = _buffer, Length = _length, Members = members, CompressedLength = compressedLength };
            _buffer = [];
            return batch;
        }
    }
}
