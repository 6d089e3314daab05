using System.Text;
using Polymur.Gateway.Parsing;

namespace Polymur.Gateway.Tests.Parsing;

public class GraphiteLineTests
{
    [Test]
    [Arguments("a.b.c 1 1700000000")]
    [Arguments("a.b.c -1.5e3 1700000000")]
    [Arguments("a.b.c +.5 1700000000.25")]
    [Arguments("a.b.c\t1\t1700000000")]
    [Arguments("a.b.c   1    1700000000")]
    [Arguments("  a.b.c 1 1700000000  ")]
    [Arguments("a.b.c 1 1700000000\r")]
    [Arguments("a.b;tag=v;dc=eu-1 1 1700000000")]
    [Arguments("métrique.ünïcode 1 1700000000")]
    [Arguments("a 1 -1")]
    [Arguments("a 1e308 1700000000")]
    [Arguments("a 1.7976931348623157e308 1700000000")]
    [Arguments("a -1.7976931348623157e308 1700000000")]
    [Arguments("a 0.1e309 1700000000")]
    [Arguments("a 1e-400 1700000000")]
    [Arguments("a 0e99999 1700000000")]
    [Arguments("a 1 0")]
    [Arguments("a 1 4294967295")]
    [Arguments("a 1 4294967295.9")]
    [Arguments("a 1 -1.9")]
    [Arguments("a 1 0001700000000")]
    [Arguments("a 1 1.7e9")]
    [Arguments("a.b;t=x.y 1 1700000000")]
    [Arguments("日本.語 1 1700000000")]
    public async Task Valid_lines(string line)
    {
        var verdict = GraphiteLine.Check(Encoding.UTF8.GetBytes(line), out _, out _, out _);
        await Assert.That(verdict).IsEqualTo(LineVerdict.Valid);
    }

    // A 400-digit value is past double's range (1.8e308), so carbon would store it as inf.
    [Test]
    public async Task A_value_beyond_doubles_range_is_invalid()
    {
        string huge = new('9', 400);
        string tiny = "0." + new string('0', 400) + "1";
        await Assert.That(GraphiteLine.Check(Encoding.ASCII.GetBytes($"a {huge} 1700000000"), out _, out _, out _)).IsEqualTo(LineVerdict.Invalid);
        await Assert.That(GraphiteLine.Check(Encoding.ASCII.GetBytes($"a {tiny} 1700000000"), out _, out _, out _)).IsEqualTo(LineVerdict.Valid);
        await Assert.That(GraphiteLine.Check(Encoding.ASCII.GetBytes($"a {new string('9', 308)} 1700000000"), out _, out _, out _)).IsEqualTo(LineVerdict.Valid);
    }

    // A segment is a file or directory name in whisper's tree: 255 bytes at most, the last with ".wsp".
    [Test]
    public async Task A_path_segment_too_long_for_a_file_name_is_invalid()
    {
        string fits = string.Join('.', Enumerable.Repeat(new string('s', 251), 3));
        string tooLong = "a." + new string('s', 252) + ".b";
        await Assert.That(GraphiteLine.Check(Encoding.ASCII.GetBytes($"{fits} 1 1700000000"), out _, out _, out _)).IsEqualTo(LineVerdict.Valid);
        await Assert.That(GraphiteLine.Check(Encoding.ASCII.GetBytes($"{tooLong} 1 1700000000"), out _, out _, out _)).IsEqualTo(LineVerdict.Invalid);
        await Assert.That(GraphiteLine.Check(Encoding.UTF8.GetBytes($"é{new string('s', 250)} 1 1700000000"), out _, out _, out _)).IsEqualTo(LineVerdict.Invalid);
    }

    [Test]
    [Arguments("a.b.c")]
    [Arguments("a.b.c 1")]
    [Arguments("a.b.c 1 1700000000 extra")]
    [Arguments("a.b.c x 1700000000")]
    [Arguments("a.b.c nan 1700000000")]
    [Arguments("a.b.c NaN 1700000000")]
    [Arguments("a.b.c inf 1700000000")]
    [Arguments("a.b.c 1 now")]
    [Arguments("a.b.c 1e 1700000000")]
    [Arguments("a.b.c . 1700000000")]
    [Arguments("a.b\u0001c 1 1700000000")]
    [Arguments("a.b\u007fc 1 1700000000")]
    [Arguments("a.b;tag 1 1700000000")]
    [Arguments("a.b;=v 1 1700000000")]
    [Arguments("a.b;t= 1 1700000000")]
    [Arguments("a.b;t=~v 1 1700000000")]
    [Arguments(";t=v 1 1700000000")]
    [Arguments("a\rb 1 1700000000")]
    [Arguments("bad 1 1e400")]
    [Arguments("bad 1e309 1700000000")]
    [Arguments("bad -1e309 1700000000")]
    [Arguments("bad 1.7976931348623159e308 1700000000")]
    [Arguments("bad 10e308 1700000000")]
    [Arguments("bad 1e99999999999999999999 1700000000")]
    [Arguments("bad 1 4294967296")]
    [Arguments("bad 1 9999999999")]
    [Arguments("bad 1 -2")]
    [Arguments("bad 1 1e10")]
    [Arguments("bad 1_000 1700000000")]
    [Arguments("bad 1 1_700_000_000")]
    [Arguments("bad Infinity 1700000000")]
    [Arguments("a..b 1 1700000000")]
    [Arguments(".a.b 1 1700000000")]
    [Arguments("a.b. 1 1700000000")]
    [Arguments(". 1 1700000000")]
    [Arguments("a/b 1 1700000000")]
    [Arguments("a..b;t=v 1 1700000000")]
    [Arguments("a;t=x/y 1 1700000000")]
    [Arguments("a\u00a0b 1 1700000000")]
    [Arguments("a\u2028b 1 1700000000")]
    [Arguments("a\u3000b 1 1700000000")]
    [Arguments("a\u0085b 1 1700000000")]
    [Arguments("a\u009bb 1 1700000000")]
    public async Task Invalid_lines(string line)
    {
        var verdict = GraphiteLine.Check(Encoding.UTF8.GetBytes(line), out _, out _, out _);
        await Assert.That(verdict).IsEqualTo(LineVerdict.Invalid);
    }

    [Test]
    public async Task Invalid_utf8_and_nul_in_the_path_are_invalid()
    {
        await Assert.That(GraphiteLine.Check([(byte)'a', 0xC3, 0x28, (byte)' ', (byte)'1', (byte)' ', (byte)'1'], out _, out _, out _)).IsEqualTo(LineVerdict.Invalid);
        await Assert.That(GraphiteLine.Check([(byte)'a', 0, (byte)'b', (byte)' ', (byte)'1', (byte)' ', (byte)'1'], out _, out _, out _)).IsEqualTo(LineVerdict.Invalid);
    }

    [Test]
    [Arguments("")]
    [Arguments("   ")]
    [Arguments("\r")]
    [Arguments(" \t \r")]
    public async Task Blank_lines_are_empty_not_invalid(string line)
    {
        await Assert.That(GraphiteLine.Check(Encoding.UTF8.GetBytes(line), out _, out _, out _)).IsEqualTo(LineVerdict.Empty);
    }

    [Test]
    public async Task Reports_the_trimmed_range_and_path_length()
    {
        var bytes = Encoding.UTF8.GetBytes("  web01.cpu 0.5 1700000000 \r");
        GraphiteLine.Check(bytes, out int start, out int length, out int pathLength);
        await Assert.That(Encoding.UTF8.GetString(bytes, start, length)).IsEqualTo("web01.cpu 0.5 1700000000");
        await Assert.That(pathLength).IsEqualTo("web01.cpu".Length);
    }
}
