using System.Text;
using Polymur.Gateway.Parsing;

namespace Polymur.Gateway.Tests.Parsing;

/// <summary>
/// The vector fast path may only ever agree with the full check: wherever it says valid, the full check must
/// say valid with the same path; and it must say valid for the plain lines real proxies send, or it is dead code.
/// </summary>
public class PlainLineTests
{
    private static readonly byte[] Interesting = [.. " \t\r\n./;=-+e0123456789xX~!^\u0001\u007f"u8, 0x80, 0xc2, 0xa0, 0xff];

    private static (bool Fast, int FastPath, LineVerdict Full, int FullStart, int FullLength, int FullPath) Both(byte[] line)
    {
        var window = new byte[Math.Max(line.Length, PlainLine.MaxLength) + 7];
        Array.Fill(window, (byte)' '); // what follows the line must not change the answer
        line.CopyTo(window, 0);
        bool fast = PlainLine.TryValid(window, line.Length, out int fastPath);
        var full = GraphiteLine.Check(line, out int start, out int length, out int path);
        return (fast, fastPath, full, start, length, path);
    }

    [Test]
    [Arguments("prod.web01.app.http.requests.p0001.rate 123.45 1700000000")]
    [Arguments("a 1 1")]
    [Arguments("a.b\t-2.5e3\t4294967295")]
    [Arguments("x.y 0 0")]
    public async Task Plain_lines_take_the_fast_path(string text)
    {
        var r = Both(Encoding.ASCII.GetBytes(text));
        await Assert.That(r.Fast).IsTrue();
        await Assert.That(r.FastPath).IsEqualTo(text.IndexOfAny([' ', '\t']));
    }

    [Test]
    [Arguments("a..b 1 1")]
    [Arguments(".a 1 1")]
    [Arguments("a. 1 1")]
    [Arguments("a 1 4294967296")]
    [Arguments("a 1e309 1")]
    [Arguments("a  1 1")]
    [Arguments("a 1 1 ")]
    [Arguments("a/b 1 1")]
    [Arguments("a 1")]
    [Arguments("a 1 1\r")]
    public async Task Anything_else_is_left_to_the_full_check(string text)
    {
        var r = Both(Encoding.ASCII.GetBytes(text));
        await Assert.That(r.Fast).IsFalse();
    }

    /// <summary>Every one-byte change (and deletion) of several plain lines, of every length up to 64.</summary>
    [Test]
    public async Task Wherever_the_fast_path_says_valid_the_full_check_agrees()
    {
        string[] seeds = ["a.b 1 1700000000", "tenant.app.latency_p99 -0.25 4294967295", "x 1e308 1", "w.x.y.z 12345678901234567 999"];
        int fastYes = 0, disagreements = 0;
        var failures = new List<string>();
        foreach (var seed in seeds)
        {
            for (int pad = 0; seed.Length + pad <= PlainLine.MaxLength + 1; pad += 3)
            {
                var line = Encoding.ASCII.GetBytes(new string('p', pad) + seed);
                foreach (var mutated in Mutations(line))
                {
                    var r = Both(mutated);
                    if (!r.Fast)
                        continue;
                    fastYes++;
                    if (r.Full != LineVerdict.Valid || r.FullStart != 0 || r.FullLength != mutated.Length || r.FullPath != r.FastPath)
                    {
                        disagreements++;
                        if (failures.Count < 5)
                            failures.Add(Encoding.Latin1.GetString(mutated));
                    }
                }
            }
        }
        await Assert.That(failures).IsEmpty();
        await Assert.That(disagreements).IsEqualTo(0);
        await Assert.That(fastYes).IsGreaterThan(1000);
    }

    private static IEnumerable<byte[]> Mutations(byte[] line)
    {
        yield return line;
        for (int i = 0; i < line.Length; i++)
        {
            foreach (byte b in Interesting)
            {
                var copy = (byte[])line.Clone();
                copy[i] = b;
                yield return copy;
            }
            yield return [.. line[..i], .. line[(i + 1)..]];
        }
    }
}
