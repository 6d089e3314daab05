namespace Polymur.Gateway.Ingest;

internal enum DecodeStatus
{
    Ok,

    /// <summary>Not gzip, corrupt, truncated, trailing garbage, or an empty body.</summary>
    Malformed,

    /// <summary>Inflating would pass the decompressed-size limit.</summary>
    TooLarge,

    /// <summary>-max-batch-memory had no room for the batch for the whole wait.</summary>
    NoMemory,
}

/// <summary>
/// A gunzipped batch in a pooled buffer. The buffer always has one spare byte past <see cref="Length"/>, so
/// a final line without LF can be terminated in place. Whoever holds it returns the buffer, once.
/// </summary>
internal struct DecodedBatch
{
    public GzipBatchDecoder Decoder;
    public DecodeStatus Status;
    public byte[] Buffer;
    public int Length;
    public int Members;

    /// <summary>The body's size as it came, gzip'd.</summary>
    public int CompressedLength;

    public readonly void ReturnBuffer()
    {
        if (Buffer is { Length: > 0 })
            Decoder.ReturnBuffer(Buffer);
    }
}
