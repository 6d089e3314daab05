using System.Globalization;
using System.Text;
using Polymur.Gateway.Primitives;
using Polymur.Gateway.Outputs;
using Polymur.Gateway.Parsing;

namespace Polymur.Gateway.Tests.Parsing;

public class LineSplitterTests
{
    [Test]
    public async Task Clean_batch_is_left_where_it_is()
    {
        var text = "a 1 1\nb 2 2\n";
        var buffer = Spare(text);
        var counts = LineSplitter.CompactInPlace(buffer, text.Length, 100, out int length);
        await Assert.That(counts.Valid).IsEqualTo(2);
        await Assert.That(Encoding.ASCII.GetString(buffer, 0, length)).IsEqualTo(text);
    }

    [Test]
    public async Task Final_line_without_LF_is_kept_whole_in_the_spare_byte()
    {
        var text = "a 1 1\nlast.metric 2 1700000000";
        var buffer = Spare(text);
        LineSplitter.CompactInPlace(buffer, text.Length, 100, out int length);
        await Assert.That(Encoding.ASCII.GetString(buffer, 0, length)).IsEqualTo("a 1 1\nlast.metric 2 1700000000\n");
    }

    [Test]
    public async Task Prefix_output_grows_past_its_first_buffer()
    {
        var text = string.Concat(Enumerable.Range(0, 1000).Select(i => $"m{i} 1 1\n"));
        var input = Encoding.ASCII.GetBytes(text);
        var pool = new BufferPool();
        var output = pool.Rent(16);
        var counts = LineSplitter.CopyWithPrefix(input, "tenant-with-long-name"u8, 100, long.MaxValue, pool, ref output, out int length);
        var expected = string.Concat(Enumerable.Range(0, 1000).Select(i => $"tenant-with-long-name.m{i} 1 1\n"));
        await Assert.That(counts.Valid).IsEqualTo(1000);
        await Assert.That(Encoding.ASCII.GetString(output, 0, length)).IsEqualTo(expected);
        pool.Return(output);
    }

    /// <summary>
    /// Property: on random batches of valid, invalid, blank, CR-ended and over-long lines, both splitters
    /// give exactly what a plain string-based reference gives.
    /// </summary>
    [Test]
    [Arguments(1)]
    [Arguments(2)]
    [Arguments(3)]
    [Arguments(4)]
    [Arguments(5)]
    public async Task Agrees_with_a_simple_reference_splitter(int seed)
    {
        var random = new Random(seed);
        var pool = new BufferPool();
        for (int round = 0; round < 200; round++)
        {
            string text = RandomBatch(random);
            const int maxLine = 40;
            var (expected, invalid, tooLong) = Reference(text, maxLine, "");

            var buffer = Spare(text);
            int inputLength = Encoding.UTF8.GetByteCount(text);
            var counts = LineSplitter.CompactInPlace(buffer, inputLength, maxLine, out int length);
            await Assert.That(Encoding.UTF8.GetString(buffer, 0, length)).IsEqualTo(expected);
            await Assert.That(counts.Invalid).IsEqualTo(invalid);
            await Assert.That(counts.TooLong).IsEqualTo(tooLong);

            var output = pool.Rent(8);
            var prefixedCounts = LineSplitter.CopyWithPrefix(Encoding.UTF8.GetBytes(text), "p"u8, maxLine, long.MaxValue, pool, ref output, out int prefixedLength);
            var prefixedExpected = Reference(text, maxLine, "p.");
            await Assert.That(Encoding.UTF8.GetString(output, 0, prefixedLength)).IsEqualTo(prefixedExpected.Output);
            await Assert.That(prefixedCounts.TooLong).IsEqualTo(prefixedExpected.TooLong);
            pool.Return(output);
        }
    }

    private static (string Output, int Invalid, int TooLong) Reference(string text, int maxLine, string prefix)
    {
        var sb = new StringBuilder();
        int invalid = 0, tooLong = 0;
        var lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i];
            if (i == lines.Length - 1 && line.Length == 0)
                break;
            if (Encoding.UTF8.GetByteCount(line) > maxLine)
            {
                tooLong++;
                continue;
            }
            string trimmed = line.TrimEnd(' ', '\t', '\r').TrimStart(' ', '\t');
            if (trimmed.Length == 0)
                continue;
            var fields = trimmed.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            bool ok = fields.Length == 3
                && fields[0].All(c => c > ' ' && !char.IsControl(c) && !char.IsWhiteSpace(c) && c != '/')
                && fields[0].Split('.').All(segment => segment.Length > 0)
                && IsNumber(fields[1]) && double.IsFinite(double.Parse(fields[1], CultureInfo.InvariantCulture))
                && IsNumber(fields[2]) && Math.Truncate(double.Parse(fields[2], CultureInfo.InvariantCulture)) is >= -1 and <= uint.MaxValue;
            if (!ok)
            {
                invalid++;
                continue;
            }
            if (Encoding.UTF8.GetByteCount(prefix + trimmed) > maxLine)
            {
                tooLong++;
                continue;
            }
            sb.Append(prefix).Append(trimmed).Append('\n');
        }
        return (sb.ToString(), invalid, tooLong);
    }

    private static bool IsNumber(string s) =>
        System.Text.RegularExpressions.Regex.IsMatch(s, @"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$");

    private static string RandomBatch(Random random)
    {
        string[] paths = ["a.b", "web01.cpu", "x", "tenant.app.latency_p99", "bad\u0001path", "a..b", ".a", "a.", "a/b", "nb\u00a0sp"];
        string[] values = ["1", "-2.5", "1e3", ".5", "x", "nan", "7.", "", "1e309", "-1e309", "1e308", "1_000", "0.0e99999"];
        string[] stamps = ["1700000000", "1", "-1", "1.5", "now", "", "1e400", "4294967295", "4294967296", "-2", "-1.9", "4294967295.9"];
        string[] seps = [" ", "\t", "  "];
        string[] ends = ["\n", "\r\n", "\n\n", " \n"];
        var sb = new StringBuilder();
        int n = random.Next(0, 30);
        for (int i = 0; i < n; i++)
        {
            int kind = random.Next(10);
            if (kind == 0)
                sb.Append(new string('y', random.Next(30, 60))).Append(" 1 1");
            else if (kind == 1)
                sb.Append("   ");
            else
            {
                sb.Append(random.Next(4) == 0 ? " " : "");
                sb.Append(paths[random.Next(paths.Length)]).Append(seps[random.Next(seps.Length)]).Append(values[random.Next(values.Length)]);
                if (random.Next(8) != 0)
                    sb.Append(seps[random.Next(seps.Length)]).Append(stamps[random.Next(stamps.Length)]);
            }
            if (i < n - 1 || random.Next(2) == 0)
                sb.Append(ends[random.Next(ends.Length)]);
        }
        return sb.ToString();
    }

    private static byte[] Spare(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var buffer = new byte[bytes.Length + 1];
        bytes.CopyTo(buffer, 0);
        return buffer;
    }
}
