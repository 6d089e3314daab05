using System.IO.Compression;

namespace Polymur.Gateway.Tests.Support;

/// <summary>Gzip of <c>zeros</c> zero bytes: about 1 MB per GiB, the classic decompression bomb.</summary>
public static class GzipBomb
{
    public static byte[] Of(long zeros)
    {
        var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            var block = new byte[1 << 20];
            for (long written = 0; written < zeros; written += block.Length)
                gzip.Write(block);
        }
        return output.ToArray();
    }
}
