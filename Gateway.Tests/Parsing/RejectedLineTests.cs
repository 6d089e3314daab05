using System.Text;
using Polymur.Gateway.Parsing;
using Polymur.Gateway.Primitives;

namespace Polymur.Gateway.Tests.Parsing;

/// <summary>The first line of a batch that is not forwarded, kept before compaction writes over it, with its reason.</summary>
public class RejectedLineTests
{
    [Test]
    [Arguments("a.b 1\n", "Fields")]
    [Arguments("a.b 1 2 3\n", "Fields")]
    [Arguments("a..b 1 1700000000\n", "Path")]
    [Arguments("a/b 1 1700000000\n", "Path")]
    [Arguments("a.b nan 1700000000\n", "Value")]
    [Arguments("a.b 1 99999999999\n", "Timestamp")]
    public async Task Each_fault_is_named(string line, string faultName)
    {
        var fault = Enum.Parse<LineFault>(faultName);
        await Assert.That(GraphiteLine.Diagnose(Encoding.ASCII.GetBytes(line.TrimEnd('\n')), out _, out _, out _)).IsEqualTo(fault);
        var (taken, text, _) = Compact("ok.one 1 1700000000\n" + line + "ok.two 2 1700000000\nbad 3\n", 100);
        await Assert.That(taken).IsEqualTo(fault);
        await Assert.That(text).IsEqualTo(line.TrimEnd('\n'));
    }

    [Test]
    public async Task The_kept_line_survives_compaction_and_is_cut_short_and_printable()
    {
        string longPath = "x." + new string('y', 200);
        var (fault, text, output) = Compact($"good.a 1 1700000000\n{longPath}\u0001 nope 1\ngood.b 2 1700000000\n", 1000);
        await Assert.That(fault).IsEqualTo(LineFault.Path);
        await Assert.That(text.Length).IsEqualTo(RejectedLine.MaxBytes + 3);
        await Assert.That(text).StartsWith("x.yyyy").And.EndsWith("...");
        await Assert.That(output).IsEqualTo("good.a 1 1700000000\ngood.b 2 1700000000\n");
    }

    [Test]
    public async Task A_line_over_the_limit_is_kept_as_too_long()
    {
        var (fault, _, _) = Compact("a." + new string('b', 50) + " 1 1700000000\n", 20);
        await Assert.That(fault).IsEqualTo(LineFault.TooLong);
        await Assert.That(RejectedLine.Describe(LineFault.TooLong, 20)).Contains("-max-line-length");
    }

    [Test]
    public async Task With_the_key_prefix_the_same_line_is_kept()
    {
        var (fault, text, output) = Prefixed("a.b 1 1700000000\na.b x 1700000000\n");
        await Assert.That(fault).IsEqualTo(LineFault.Value);
        await Assert.That(text).IsEqualTo("a.b x 1700000000");
        await Assert.That(output).IsEqualTo("t.a.b 1 1700000000\n");
    }

    private static (LineFault Fault, string Text, string Output) Prefixed(string batch)
    {
        var pool = new BufferPool();
        var output = pool.Rent(64);
        Span<byte> room = stackalloc byte[RejectedLine.MaxBytes];
        var rejected = new RejectedLine(room);
        LineSplitter.CopyWithPrefix(Encoding.ASCII.GetBytes(batch), "t"u8, 100, long.MaxValue, pool, ref output, default, ref rejected, out int length, out _);
        return (rejected.Fault, rejected.Text(), Encoding.ASCII.GetString(output, 0, length));
    }

    private static (LineFault Fault, string Text, string Output) Compact(string batch, int maxLine)
    {
        byte[] buffer = new byte[batch.Length + 64];
        Encoding.ASCII.GetBytes(batch, buffer);
        Span<byte> room = stackalloc byte[RejectedLine.MaxBytes];
        var rejected = new RejectedLine(room);
        LineSplitter.CompactInPlace(buffer, batch.Length, maxLine, default, ref rejected, out int length, out _);
        return (rejected.Fault, rejected.Text(), Encoding.ASCII.GetString(buffer, 0, length));
    }
}
