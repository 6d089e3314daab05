using System.Security.Cryptography;
using System.Text;

namespace Polymur.Gateway.Spool;

/// <summary>
/// Where one destination's spool lives under -spool-dir: <c>&lt;readable name&gt;-&lt;8 hex of SHA-256 of the
/// full name&gt;</c>, so that <c>10.0.0.5:2003:a</c> and <c>10.0.0.5:2003:b</c> never share one, and no name can
/// reach outside the spool dir. A <c>destination</c> file in it holds the exact name, for the spool tool.
/// Segments are <c>&lt;sequence, 16 digits&gt;.spool</c>, replayed in sequence order, each with its
/// <c>.acked</c> file (<see cref="AckFile"/>) once part of it was delivered. The readable part of a directory's
/// name is cut at <see cref="MaxReadableName"/> characters (a file name has at most 255 bytes); the hash keeps
/// names that share a long prefix apart.
/// </summary>
internal static class SpoolDirectory
{
    public const string NameFile = "destination";
    public const int MaxReadableName = 200;

    public static string For(string spoolDir, string destination) => Path.Combine(spoolDir, DirectoryName(destination));

    public static string DirectoryName(string destination)
    {
        var readable = new StringBuilder(Math.Min(destination.Length, MaxReadableName));
        foreach (char c in destination.AsSpan(0, Math.Min(destination.Length, MaxReadableName)))
            readable.Append(char.IsAsciiLetterOrDigit(c) || c is '-' or '.' ? c : '_');
        string hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(destination)))[..8];
        return $"{readable}-{hash}";
    }

    public static string SegmentName(long sequence) => $"{sequence:D16}{SegmentFormat.Extension}";

    /// <summary>
    /// The entries of one destination's spool named like segments, oldest first, whatever they are (files,
    /// FIFOs, directories: the caller looks before it opens); empty when the directory cannot be listed.
    /// </summary>
    public static IReadOnlyList<(long Sequence, string Path)> Segments(string directory) => Named(directory, SegmentFormat.Extension);

    /// <summary>The ack files of one destination's spool, by the sequence of their segment.</summary>
    public static IReadOnlyList<(long Sequence, string Path)> AckFiles(string directory) => Named(directory, AckFile.Extension);

    private static IReadOnlyList<(long Sequence, string Path)> Named(string directory, string extension)
    {
        try
        {
            return [.. Directory.EnumerateFileSystemEntries(directory, "*" + extension)
                .Select(p => (Ok: long.TryParse(Path.GetFileNameWithoutExtension(p), System.Globalization.NumberStyles.None, null, out long s), Sequence: s, Path: p))
                .Where(s => s.Ok && Path.GetExtension(s.Path) == extension)
                .OrderBy(s => s.Sequence)
                .Select(s => (s.Sequence, s.Path))];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    /// <summary>
    /// The destination a spool directory belongs to, from its name file; null when that is missing, is not a
    /// plain file (a directory, a FIFO) or cannot be read. At most 4 KiB of it is read.
    /// </summary>
    public static string? DestinationOf(string directory)
    {
        using var handle = SpoolFiles.OpenRegular(Path.Combine(directory, NameFile), out _, out _);
        if (handle is null)
            return null;
        try
        {
            Span<byte> bytes = stackalloc byte[4096];
            int read = RandomAccess.Read(handle, bytes, 0);
            return Encoding.UTF8.GetString(bytes[..read]).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
