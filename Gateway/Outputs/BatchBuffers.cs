using System.Buffers;

namespace Polymur.Gateway.Outputs;

/// <summary>
/// Where batch buffers come from. Up to 16 MiB they are pooled (every normal batch: 5000 lines are about
/// 300 KB). Larger ones, a batch near -max-batch-size or a gzip bomb hitting it, are allocated to the exact
/// size and left to the GC: ArrayPool would round 64 MiB + 1 up to 128 MiB and keep such arrays cached, which
/// measured 1 GiB of RSS under a stream of bombs.
/// </summary>
public static class BatchBuffers
{
    public const int MaxPooled = 16 << 20;

    public static byte[] Rent(int minimumLength) =>
        minimumLength <= MaxPooled ? ArrayPool<byte>.Shared.Rent(minimumLength) : GC.AllocateUninitializedArray<byte>(minimumLength);

    public static void Return(byte[] buffer)
    {
        if (buffer.Length <= MaxPooled)
            ArrayPool<byte>.Shared.Return(buffer);
    }
}
