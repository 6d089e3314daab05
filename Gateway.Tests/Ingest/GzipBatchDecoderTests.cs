using System.IO.Pipelines;
using System.Text;
using Polymur.Gateway.Primitives;
using Polymur.Gateway.Ingest;
using Polymur.Gateway.Outputs;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Ingest;

/// <summary>The decoder fed through a real pipe, in pieces as Kestrel hands them over.</summary>
public class GzipBatchDecoderTests
{
    [Test]
    [Arguments(1)]
    [Arguments(7)]
    [Arguments(4096)]
    public async Task Members_split_across_any_read_boundary_decode_whole(int chunk)
    {
        string a = ProxyClient.Lines("a", 300), b = ProxyClient.Lines("b", 300);
        byte[] body = [.. ProxyClient.Gzip(a), .. ProxyClient.GoEmptyMember, .. ProxyClient.Gzip(b)];

        var decoded = await DecodeAsync(body, chunk, 1 << 20);

        await Assert.That(decoded.Status).IsEqualTo(DecodeStatus.Ok);
        await Assert.That(decoded.Members).IsEqualTo(3);
        await Assert.That(Encoding.ASCII.GetString(decoded.Buffer, 0, decoded.Length)).IsEqualTo(a + b);
        await Assert.That(decoded.Buffer.Length).IsGreaterThan(decoded.Length);
        decoded.ReturnBuffer();
    }

    [Test]
    public async Task Truncation_at_every_length_is_malformed()
    {
        byte[] body = ProxyClient.Gzip(ProxyClient.Lines("t", 50));
        for (int cut = 0; cut < body.Length; cut++)
        {
            var decoded = await DecodeAsync(body[..cut], 64, 1 << 20);
            await Assert.That(decoded.Status).IsEqualTo(DecodeStatus.Malformed).Because($"cut at {cut} of {body.Length}");
        }
    }

    [Test]
    public async Task A_pooled_decompressor_after_a_truncated_member_does_not_spoil_the_next_request()
    {
        // Found by the hostile corpus: a truncated body ends inside a member, and its inflater is reused.
        var decoder = new GzipBatchDecoder(new BufferPool(), 1 << 20);
        byte[] good = ProxyClient.Gzip(ProxyClient.Lines("next", 100));
        for (int i = 0; i < 20; i++)
        {
            var truncated = await DecodeAsync(decoder, good[..(good.Length / 2)], 4096);
            var whole = await DecodeAsync(decoder, good, 4096);
            await Assert.That(truncated.Status).IsEqualTo(DecodeStatus.Malformed);
            await Assert.That(whole.Status).IsEqualTo(DecodeStatus.Ok);
            await Assert.That(Encoding.ASCII.GetString(whole.Buffer, 0, whole.Length)).IsEqualTo(ProxyClient.Lines("next", 100));
            whole.ReturnBuffer();
        }
    }

    [Test]
    public async Task The_limit_is_enforced_while_inflating()
    {
        byte[] bomb = GzipBomb.Of(256L << 20);

        var decoded = await DecodeAsync(bomb, 16384, 1 << 20);

        await Assert.That(decoded.Status).IsEqualTo(DecodeStatus.TooLarge);
    }

    [Test]
    [Arguments(0u)]
    [Arguments(10u)]
    [Arguments(uint.MaxValue)]
    public async Task A_lying_ISIZE_is_only_a_hint_the_CRC_and_the_real_length_decide(uint claimed)
    {
        // ISIZE is the last 4 bytes; libdeflate checks it, so a forged one makes the member corrupt, never a
        // wrong-sized batch or a buffer sized from the claim.
        string lines = ProxyClient.Lines("isize", 2000);
        byte[] honest = ProxyClient.Gzip(lines);
        byte[] forged = [.. honest];
        BitConverter.TryWriteBytes(forged.AsSpan(forged.Length - 4), claimed);
        var pool = new BufferPool();
        var decoder = new GzipBatchDecoder(pool, 64 << 20);

        var good = await DecodeAsync(decoder, honest, 4096);
        var bad = await DecodeAsync(decoder, forged, 4096);

        await Assert.That(good.Status).IsEqualTo(DecodeStatus.Ok);
        await Assert.That(Encoding.ASCII.GetString(good.Buffer, 0, good.Length)).IsEqualTo(lines);
        await Assert.That(good.Buffer.Length).IsLessThan(4 * lines.Length); // sized from the honest ISIZE
        await Assert.That(bad.Status).IsEqualTo(DecodeStatus.Malformed);
        good.ReturnBuffer();
        await Assert.That(pool.InUseBytes).IsEqualTo(0);
    }

    [Test]
    public async Task A_member_bigger_than_the_last_ISIZE_suggests_grows_and_decodes_whole()
    {
        // Only the last member's ISIZE is at the end of the body: here a tiny one after a big one.
        string big = ProxyClient.Lines("big", 20_000), small = ProxyClient.Lines("s", 1);
        byte[] body = [.. ProxyClient.Gzip(big), .. ProxyClient.Gzip(small)];

        var decoded = await DecodeAsync(body, 65536, 64 << 20);

        await Assert.That(decoded.Status).IsEqualTo(DecodeStatus.Ok);
        await Assert.That(Encoding.ASCII.GetString(decoded.Buffer, 0, decoded.Length)).IsEqualTo(big + small);
        decoded.ReturnBuffer();
    }

    [Test]
    public async Task A_body_that_does_not_start_as_gzip_is_refused_before_the_rest_arrives()
    {
        // A body read whole must not let a client hold a decode slot by sending garbage slowly.
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(new byte[] { 0x1f, 0x1f });
        var decoder = new GzipBatchDecoder(new BufferPool(), 1 << 20);

        var decoding = decoder.DecodeAsync(pipe.Reader, 100_000, CancellationToken.None).AsTask();
        // Generous: what matters is that it ends without the rest of the body, which never comes.
        await Assert.That(await Poll.FinishesAsync(decoding, TimeSpan.FromSeconds(30))).IsTrue();
        await Assert.That((await decoding).Status).IsEqualTo(DecodeStatus.Malformed);
    }

    [Test]
    public async Task The_compressed_body_is_read_into_the_budget_and_waits_for_room_there()
    {
        // Read before a decode slot is taken, the body must be counted in -max-batch-memory, not beside it.
        var pool = new BufferPool();
        var decoder = new GzipBatchDecoder(pool, 1 << 20, maxBatchMemory: 4 << 20, memoryWait: TimeSpan.FromMilliseconds(100));
        byte[] body = ProxyClient.Gzip(ProxyClient.Lines("budget", 2000));
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(body);
        await pipe.Writer.CompleteAsync();

        var pending = await decoder.ReadAsync(pipe.Reader, body.Length, CancellationToken.None);
        await Assert.That(pending.Status).IsEqualTo(DecodeStatus.Ok);
        await Assert.That(pool.InUseBytes).IsGreaterThanOrEqualTo(body.Length);

        // With the budget taken, the next body waits for its deadline, then gives up holding nothing.
        await Assert.That(pool.TryReserve((4 << 20) - pool.InUseBytes, 4 << 20)).IsTrue();
        long held = pool.InUseBytes;
        var second = new Pipe();
        await second.Writer.WriteAsync(body);
        await second.Writer.CompleteAsync();
        var refused = await decoder.ReadAsync(second.Reader, body.Length, CancellationToken.None);
        await Assert.That(refused.Status).IsEqualTo(DecodeStatus.NoMemory);
        await Assert.That(pool.InUseBytes).IsEqualTo(held);

        var decoded = await decoder.InflateAsync(pending, CancellationToken.None);
        await Assert.That(decoded.Status).IsEqualTo(DecodeStatus.Ok);
        await Assert.That(Encoding.ASCII.GetString(decoded.Buffer, 0, decoded.Length)).IsEqualTo(ProxyClient.Lines("budget", 2000));
        decoded.ReturnBuffer();
    }

    private static Task<DecodedBatch> DecodeAsync(byte[] body, int chunk, long limit) =>
        DecodeAsync(new GzipBatchDecoder(new BufferPool(), limit), body, chunk);

    private static async Task<DecodedBatch> DecodeAsync(GzipBatchDecoder decoder, byte[] body, int chunk)
    {
        var pipe = new Pipe();
        var writing = Task.Run(async () =>
        {
            for (int i = 0; i < body.Length; i += chunk)
            {
                await pipe.Writer.WriteAsync(body.AsMemory(i, Math.Min(chunk, body.Length - i)));
            }
            await pipe.Writer.CompleteAsync();
        });
        var decoded = await decoder.DecodeAsync(pipe.Reader, body.Length, CancellationToken.None);
        await pipe.Reader.CompleteAsync();
        await writing.WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { });
        return decoded;
    }
}
