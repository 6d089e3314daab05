using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.IO.Pipelines;

using Polymur.Gateway.Primitives;

namespace Polymur.Gateway.Ingest;

/// <summary>
/// Gunzips a request body (one or more concatenated gzip members, as a polymur-proxy sends after a failed
/// post) into a pooled buffer, with libdeflate, a whole member per call. The body is read whole first (Kestrel
/// caps it at -max-body-size), before a decode slot is taken (<see cref="ReadAsync"/>). Each member's ISIZE trailer is a hint for the output size, never trusted: a member
/// that does not fit is inflated again into a buffer twice the size, up to the decompressed limit, so a gzip bomb
/// costs at most the limit in memory and about twice the limit in work before its 413. Like Go's gzip reader: an
/// empty body, a truncated member, or bytes after the last member that are not another member make the whole
/// batch malformed. The compressed body and the output buffer come out of -max-batch-memory, the budget for every
/// batch buffer in use: a decode that would pass it waits (up to <paramref name="memoryWait"/> in all) for batches
/// to be delivered, then gives up.
/// </summary>
internal sealed class GzipBatchDecoder(BufferPool buffers, long maxBatchSize, int largeBuffersKept = 4, long maxBatchMemory = long.MaxValue, TimeSpan memoryWait = default)
{
    private const int MinInitialBuffer = 64 * 1024;

    // An ISIZE claiming more than this many times the compressed size is not believed at first (metric batches
    // inflate about 6.5x); a bomb that really is that big grows there by doubling.
    private const int TrustedRatio = 64;

    private const int GzipTrailer = 8, GzipMinimumMember = 18;

    // A body's first buffer at most; it doubles from there as the body comes.
    private const int FirstBodyBuffer = 64 * 1024;

    // ReadWholeAsync's lengths for a body given up on.
    private const int NotGzip = -1, NoRoom = -2;

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

    /// <summary>Reads and inflates in one go: <see cref="ReadAsync"/> then <see cref="InflateAsync"/>, with no decode slot between.</summary>
    public async ValueTask<DecodedBatch> DecodeAsync(PipeReader body, long? contentLength, CancellationToken cancel) =>
        await InflateAsync(await ReadAsync(body, contentLength, cancel), cancel);

    /// <summary>
    /// The body, read whole into a buffer from -max-batch-memory, and the output's first buffer reserved there
    /// too: all the waiting a decode does (the network, memory), so that the decode slot taken after it is held
    /// for CPU work only. Over HTTP/2 that is what keeps one stream from holding a slot while its DATA is stuck
    /// behind other streams of the same connection. Memory is waited for up to -queue-wait in all.
    /// </summary>
    public async ValueTask<PendingBatch> ReadAsync(PipeReader body, long? contentLength, CancellationToken cancel)
    {
        var wait = new MemoryWait(memoryWait);
        var (compressed, length) = await ReadWholeAsync(body, contentLength, wait, cancel);
        if (length < 0)
        {
            if (compressed.Length > 0)
                buffers.Return(compressed);
            return new PendingBatch(this, length == NotGzip ? DecodeStatus.Malformed : DecodeStatus.NoMemory, [], 0, [], wait);
        }
        byte[]? output;
        try
        {
            output = await RentWithinAsync(OutputSize(FirstGuess(compressed.AsSpan(0, length))), output: true, wait, cancel);
        }
        catch
        {
            buffers.Return(compressed);
            throw;
        }
        if (output is null)
        {
            buffers.Return(compressed);
            return new PendingBatch(this, DecodeStatus.NoMemory, [], 0, [], wait);
        }
        return new PendingBatch(this, DecodeStatus.Ok, compressed, length, output, wait);
    }

    /// <summary>
    /// Inflates a body <see cref="ReadAsync"/> read (under a decode slot): CPU only, unless a member outgrows the
    /// first buffer (a lying ISIZE, several members, a bomb), which waits for memory in what is left of the wait.
    /// Gives the pending batch's buffers back whatever happens.
    /// </summary>
    public async ValueTask<DecodedBatch> InflateAsync(PendingBatch pending, CancellationToken cancel)
    {
        var output = new Output(this);
        if (pending.Status != DecodeStatus.Ok)
        {
            pending.Release();
            return output.Fail(pending.Status);
        }
        output.Adopt(pending.TakeOutput());
        var decompressor = _decompressors.TryTake(out var pooled) ? pooled : new Libdeflate();
        try
        {
            int offset = 0, members = 0, length = pending.Length;
            while (offset < length)
            {
                var result = decompressor.Inflate(pending.Compressed[offset..], output.Free, out int consumed, out int written);
                if (result == MemberResult.Corrupt)
                    return output.Fail(DecodeStatus.Malformed);
                if (result == MemberResult.OutputFull)
                {
                    if (output.AtLimit)
                        return output.Fail(DecodeStatus.TooLarge);
                    if (!await output.GrowAsync(output.Capacity * 2L, pending.Wait, cancel))
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
            pending.Release();
            if (_decompressors.Count < Environment.ProcessorCount * 4)
                _decompressors.Add(decompressor);
            else
                decompressor.Dispose();
        }
    }

    /// <summary>
    /// A buffer of at least <paramref name="size"/> bytes, waiting for room in the budget; null when the wait ran
    /// out. An <paramref name="output"/> past the pool's largest class is one of the kept exact-size ones.
    /// </summary>
    private async ValueTask<byte[]?> RentWithinAsync(int size, bool output, MemoryWait wait, CancellationToken cancel)
    {
        while (true)
        {
            var returned = buffers.Returned.Register();
            byte[]? buffer = output ? TryRent(size) : buffers.TryRent(size, maxBatchMemory, out var pooled) ? pooled : null;
            if (buffer is not null)
                return buffer;
            if (!await wait.WaitAsync(returned, cancel))
                return null;
        }
    }

    private int OutputSize(long wanted) => (int)Math.Min(Math.Max(wanted, MinInitialBuffer), maxBatchSize + 1);

    // The last member's ISIZE (the whole output for the usual one-member body), believed up to TrustedRatio times
    // the compressed size and never past the limit.
    private long FirstGuess(ReadOnlySpan<byte> compressed)
    {
        long isize = compressed.Length >= GzipMinimumMember ? BinaryPrimitives.ReadUInt32LittleEndian(compressed[^4..]) : 0;
        return Math.Min(Math.Max(Math.Min(isize, (long)compressed.Length * TrustedRatio) + 1, MinInitialBuffer), maxBatchSize + 1);
    }

    // The body, whole, in a buffer from the budget. It starts at Content-Length (or 64 KiB without one) up to
    // 64 KiB and doubles as the body comes, so a client holds about what it has sent, not what it announced.
    // Kestrel stops a body past -max-body-size, and one sent too slowly, with the exceptions the handler answers.
    // A body that does not start as gzip is given up on (NotGzip) as soon as its first bytes show it, not after
    // it has all come in; no room in the budget for the whole wait is NoRoom.
    private async ValueTask<(byte[] Buffer, int Length)> ReadWholeAsync(PipeReader body, long? contentLength, MemoryWait wait, CancellationToken cancel)
    {
        var buffer = await RentWithinAsync((int)Math.Clamp(contentLength ?? FirstBodyBuffer, GzipTrailer, FirstBodyBuffer), output: false, wait, cancel);
        if (buffer is null)
            return ([], NoRoom);
        int length = 0;
        try
        {
            while (true)
            {
                var read = await body.ReadAsync(cancel);
                long needed = length + read.Buffer.Length;
                if (needed > buffer.Length)
                {
                    // Twice the size, or what has come if more; never past a Content-Length the body keeps to.
                    long size = Math.Max(buffer.Length * 2L, needed);
                    if (contentLength is long announced && announced >= needed)
                        size = Math.Min(size, announced);
                    var bigger = await RentWithinAsync((int)Math.Min(size, Array.MaxLength), output: false, wait, cancel);
                    if (bigger is null)
                    {
                        body.AdvanceTo(read.Buffer.Start);
                        return (buffer, NoRoom);
                    }
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    buffers.Return(buffer);
                    buffer = bigger;
                }
                read.Buffer.CopyTo(buffer.AsSpan(length));
                length += (int)read.Buffer.Length;
                body.AdvanceTo(read.Buffer.End);
                if (!StartsAsGzip(buffer.AsSpan(0, length)))
                    return (buffer, NotGzip);
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

        /// <summary>Starts from the buffer <see cref="ReadAsync"/> reserved.</summary>
        public void Adopt(byte[] buffer) => _buffer = buffer;

        /// <summary>Moves to a buffer of at least <paramref name="wanted"/> bytes, waiting for room in the budget; false when time ran out.</summary>
        public async ValueTask<bool> GrowAsync(long wanted, MemoryWait wait, CancellationToken cancel)
        {
            var bigger = await owner.RentWithinAsync(owner.OutputSize(wanted), output: true, wait, cancel);
            if (bigger is null)
                return false;
            _buffer.AsSpan(0, _length).CopyTo(bigger);
            if (_buffer.Length > 0)
                owner.ReturnBuffer(_buffer);
            _buffer = bigger;
            return true;
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
