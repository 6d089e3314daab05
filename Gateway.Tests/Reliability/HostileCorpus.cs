using System.IO.Compression;
using System.Text;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Reliability;

/// <summary>One hostile request: what is sent, the status the gateway must answer, and the lines it must deliver.</summary>
public sealed record HostileRequest(string Kind, string? Key, byte[] Body, int ExpectedStatus, IReadOnlyList<string> ValidLines, int ExtraHeaders = 0, int KeyHeaderBytes = 0);

/// <summary>
/// A deterministic generator of malformed and hostile requests (the corpus is generated, not checked in as
/// blobs). Every request says which status it must get; mixed batches say which of their lines are valid,
/// each line unique, so delivery can be checked exactly once.
/// </summary>
public static class HostileCorpus
{
    private static readonly Lazy<byte[]> GigabyteBomb = new(() => GzipBomb.Of(1L << 30));

    // A 10 MB line compresses to a few KB; made once and sent as a member after each request's own valid line.
    private static readonly Lazy<byte[]> TenMegabyteLine = new(() => Gzip(new string('h', 10 << 20) + " 1 1700000000\n"));

    public static IEnumerable<HostileRequest> Generate(int seed, int count)
    {
        var random = new Random(seed);
        for (int i = 0; i < count; i++)
        {
            int pick = random.Next(100);
            yield return pick switch
            {
                < 30 => MixedLines(random, i),
                < 42 => BrokenGzip(random, i),
                < 52 => new HostileRequest("missing or wrong key", random.Next(2) == 0 ? null : $"wrong-{i}", Gzip($"k.{i} 1 1\n"), 401, []),
                < 62 => ManyMembers(random, i),
                < 66 => new HostileRequest("thousands of headers", "123", Gzip($"h.{i} 1 1\n"), 431, [], ExtraHeaders: 2000),
                < 70 => new HostileRequest("huge key header", null, Gzip($"h.{i} 1 1\n"), 431, [], KeyHeaderBytes: 64 * 1024),
                < 71 => new HostileRequest("gzip bomb, 1 GiB of zeros", "123", GigabyteBomb.Value, 413, []),
                < 79 => new HostileRequest("empty body", "123", [], 400, []),
                < 98 => new HostileRequest("empty gzip members only", "123", [.. Enumerable.Range(0, random.Next(1, 50)).SelectMany(_ => ProxyClient.GoEmptyMember)], 200, []),
                _ => HugeLine(i),
            };
        }
    }

    // Valid lines mixed with every kind of bad line; only the valid ones may arrive, each once.
    private static HostileRequest MixedLines(Random random, int i)
    {
        var text = new StringBuilder();
        var valid = new List<string>();
        int n = random.Next(1, 40);
        for (int j = 0; j < n; j++)
        {
            string name = $"mixed.r{i}.l{j}";
            switch (random.Next(16))
            {
                case 0: text.Append(name).Append(" 1\n"); break;                                      // missing field
                case 1: text.Append(name).Append(" nan 1700000000\n"); break;                         // NaN
                case 2: text.Append(name).Append(" inf 1700000000\n"); break;                         // Inf
                case 3: text.Append(name).Append("\0x 1 1700000000\n"); break;                        // NUL
                case 4: text.Append(name).Append(" 1 1700000000\r").Append(name).Append("b 2 2\r\n"); break; // CR-only ends
                case 5: text.Append("nospace\n"); break;
                case 6: text.Append(name).Append(" 1 1700000000 extra\n"); break;
                case 7: text.Append('\n'); break;                                                      // empty
                case 8: text.Append(name).Append('\u00ff').Append(" 1 1\n"); break;                  // 0xFF: invalid UTF-8
                case 9: { string l = $"{name}\t5\t1700000000"; text.Append(l).Append('\n'); valid.Add(l); break; } // tabs are valid
                case 10: { string l = $"{name} -3.5 -1"; text.Append(l).Append('\n'); valid.Add(l); break; }      // negative timestamp
                case 11: { string l = $"{name} 1e308 4294967295"; text.Append(l).Append('\n'); valid.Add(l); break; } // the largest that carbon stores
                case 12: text.Append(name).Append(" 1 99999999999999999999\n"); break;                  // past whisper's 32-bit epoch
                case 13: text.Append(name).Append(" 1e309 1700000000\n"); break;                       // a value past double's range
                default: { string l = $"{name} {j} 1700000000"; text.Append(l).Append("\r\n"); valid.Add(l); break; }
            }
        }
        // Latin-1 maps each char to one byte, so '\0' and '\u00ff' reach the gateway as raw 0x00 and 0xFF.
        return new HostileRequest("mixed valid and invalid lines", "123", GzipBytes(Encoding.Latin1.GetBytes(text.ToString())), 200, valid);
    }

    private static HostileRequest BrokenGzip(Random random, int i)
    {
        var good = Gzip(ProxyClient.Lines($"broken.{i}", random.Next(1, 200)));
        switch (random.Next(4))
        {
            case 0:
                var noise = new byte[random.Next(1, 4000)];
                random.NextBytes(noise);
                return new HostileRequest("not gzip", "123", noise, 400, []);
            case 1:
                return new HostileRequest("truncated gzip", "123", good[..random.Next(0, good.Length - 1)], 400, []);
            case 2:
                var crc = (byte[])good.Clone();
                crc[^(random.Next(1, 9))] ^= (byte)random.Next(1, 256);
                return new HostileRequest("bad CRC or length", "123", crc, 400, []);
            default:
                return new HostileRequest("trailing garbage", "123", [.. good, (byte)'x', 0, 1], 400, []);
        }
    }

    private static HostileRequest ManyMembers(Random random, int i)
    {
        int members = random.Next(100, 5000);
        var body = new MemoryStream();
        var valid = new List<string>();
        for (int m = 0; m < members; m++)
        {
            if (m % 997 == 0)
            {
                string l = $"members.r{i}.m{m} 1 1700000000";
                valid.Add(l);
                body.Write(Gzip(l + "\n"));
            }
            else
            {
                body.Write(ProxyClient.GoEmptyMember);
            }
        }
        return new HostileRequest("hundreds to thousands of gzip members, most empty", "123", body.ToArray(), 200, valid);
    }

    private static HostileRequest HugeLine(int i)
    {
        string valid = $"beside.huge.r{i} 1 1700000000";
        return new HostileRequest("a 10 MB line beside a valid one", "123", [.. Gzip(valid + "\n"), .. TenMegabyteLine.Value], 200, [valid]);
    }

    private static byte[] Gzip(string text) => GzipBytes(Encoding.UTF8.GetBytes(text));

    private static byte[] GzipBytes(byte[] data)
    {
        var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
            gzip.Write(data);
        return output.ToArray();
    }
}
