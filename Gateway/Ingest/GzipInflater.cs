using System.Runtime.InteropServices;

namespace Polymur.Gateway.Ingest;

/// <summary>What one inflate step ended on.</summary>
internal enum InflateStep
{
    /// <summary>All input was taken; the member goes on in the next input.</summary>
    NeedInput,

    /// <summary>The output span is full and more output is pending.</summary>
    OutputFull,

    /// <summary>A gzip member ended, its CRC-32 and length checked. Input after it is the next member.</summary>
    MemberEnd,

    /// <summary>Not gzip, a bad header, corrupt deflate data, or a CRC/length mismatch.</summary>
    Corrupt,
}

/// <summary>
/// One gzip member at a time, over the zlib-ng that .NET itself ships (statically linked into the NativeAOT
/// binary). GZipStream cannot be used here: it hides where a member ends, so it accepts truncated bodies
/// and trailing garbage as if they were whole. Working per member gives exact boundaries, and inflating
/// straight from the request's pipe segments avoids a copy of the compressed body.
/// </summary>
internal sealed unsafe partial class GzipInflater : IDisposable
{
    // 15-bit window + 16: expect a gzip header and trailer; zlib checks the trailer's CRC-32 and ISIZE.
    private const int GzipWindowBits = 31;
    private const string Library = "libSystem.IO.Compression.Native";

    private const int ZOk = 0, ZStreamEnd = 1, ZBufError = -5;

    // The layout of the runtime's PAL_ZStream (src/native/libs/System.IO.Compression.Native/pal_zlib.h).
    [StructLayout(LayoutKind.Sequential)]
    private struct ZStream
    {
        public byte* NextIn;
        public byte* NextOut;
        public IntPtr Message;
        public IntPtr InternalState;
        public uint AvailIn;
        public uint AvailOut;
    }

    private ZStream _stream;
    private bool _initialized;

    public GzipInflater()
    {
        fixed (ZStream* s = &_stream)
        {
            int rc = InflateInit2(s, GzipWindowBits);
            if (rc != ZOk)
                throw new InvalidOperationException($"zlib inflateInit2 failed ({rc})");
        }
        _initialized = true;
    }

    /// <summary>Starts a new member, keeping the allocated window.</summary>
    public void Reset()
    {
        fixed (ZStream* s = &_stream)
        {
            if (InflateReset2(s, GzipWindowBits) != ZOk)
                throw new InvalidOperationException("zlib inflateReset2 failed");
        }
    }

    public InflateStep Inflate(ReadOnlySpan<byte> input, Span<byte> output, out int consumed, out int written)
    {
        fixed (byte* inPtr = input)
        fixed (byte* outPtr = output)
        fixed (ZStream* s = &_stream)
        {
            s->NextIn = inPtr;
            s->AvailIn = (uint)input.Length;
            s->NextOut = outPtr;
            s->AvailOut = (uint)output.Length;
            int rc = Inflate(s, 0);
            consumed = input.Length - (int)s->AvailIn;
            written = output.Length - (int)s->AvailOut;
            s->NextIn = null;
            s->NextOut = null;
            return rc switch
            {
                ZStreamEnd => InflateStep.MemberEnd,
                ZOk or ZBufError when s->AvailOut == 0 => InflateStep.OutputFull,
                ZOk or ZBufError => InflateStep.NeedInput,
                _ => InflateStep.Corrupt,
            };
        }
    }

    public void Dispose()
    {
        if (!_initialized)
            return;
        _initialized = false;
        fixed (ZStream* s = &_stream)
            InflateEnd(s);
    }

    [LibraryImport(Library, EntryPoint = "CompressionNative_InflateInit2_")]
    private static partial int InflateInit2(ZStream* stream, int windowBits);

    [LibraryImport(Library, EntryPoint = "CompressionNative_InflateReset2_")]
    private static partial int InflateReset2(ZStream* stream, int windowBits);

    [LibraryImport(Library, EntryPoint = "CompressionNative_Inflate")]
    private static partial int Inflate(ZStream* stream, int flush);

    [LibraryImport(Library, EntryPoint = "CompressionNative_InflateEnd")]
    private static partial int InflateEnd(ZStream* stream);
}
