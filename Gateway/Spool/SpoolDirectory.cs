using System.Security.Cryptography;
using System.Text;

namespace Polymur.Gateway.Spool;

/// <summary>
/// Where one destination's spool lives under -spool-dir: <c>&lt;readable name&gt;-&lt;8 hex of SHA-256 of the
/// full name&gt;</c>, so that <c>10.0.0.5:2003:a</c> and <c>10.0.0.5:2003:b</c> never share one, and no name can
/// reach outside the spool dir. A <c>destination</c> file in it holds the exact name, for the spool tool.
/// Segments are <c>&lt;sequence, 16 digits&gt;.spool</c>, replayed in sequence order.
/// </summary>
internal static class SpoolDirectory
{
    public const string NameFile = "destination";

    public static string For(string spoolDir, string destination) => Path.Combine(spoolDir, DirectoryName(destination));

    public static string DirectoryName(string destination)
    {
        var readable = new StringBuilder(destination.Length);
        foreach (char c in destination)
            readable.Append(char.IsAsciiLetterOrDigit(c) || c is '-' or '.' ? c : '_');
        string hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(destination)))[..8];
        return $"{readable}-{hash}";
    }

    public static string SegmentName(long sequence) => $"{sequence:D16}{SegmentFormat.Extension}";

    /// <summary>The segments of one destination's spool, oldest first.</summary>
    public static IReadOnlyList<(long Sequence, string Path)> Segments(string directory) =>
        [.. Directory.EnumerateFiles(directory, "*" + SegmentFormat.Extension)
            .Select(p => (Ok: long.TryParse(Path.GetFileNameWithoutExtension(p), out long s), Sequence: s, Path: p))
            .Where(s => s.Ok)
            .OrderBy(s => s.Sequence)
            .Select(s => (s.Sequence, s.Path))];

    /// <summary>The destination a spool directory belongs to, from its name file; null when that is missing.</summary>
    public static string? DestinationOf(string directory)
    {
        try
        {
            return File.ReadAllText(Path.Combine(directory, NameFile)).Trim();
        }
        catch (IOException)
        {
            return null;
        }
    }
}
