namespace Polymur.Gateway.Ingest;

/// <summary>
/// A request body read whole, with its first output buffer reserved (<see cref="GzipBatchDecoder.ReadAsync"/>):
/// everything a decode may wait for on the network or for memory, done before it takes a decode slot. Hand it
/// to <see cref="GzipBatchDecoder.InflateAsync"/>, or give its buffers back with <see cref="Release"/>.
/// </summary>
internal sealed class PendingBatch
{
    private readonly GzipBatchDecoder _owner;
    private byte[] _compressed;
    private byte[] _output;

    internal PendingBatch(GzipBatchDecoder owner, DecodeStatus status, byte[] compressed, int length, byte[] output, MemoryWait wait)
    {
        _owner = owner;
        Status = status;
        _compressed = compressed;
        Length = length;
        _output = output;
        Wait = wait;
    }

    /// <summary>Ok when the body was read and its output reserved; otherwise why not, with nothing held.</summary>
    public DecodeStatus Status { get; }

    /// <summary>The body's size as it came, gzip'd.</summary>
    public int Length { get; }

    internal MemoryWait Wait { get; }

    internal ReadOnlySpan<byte> Compressed => _compressed.AsSpan(0, Length);

    /// <summary>Hands the reserved output buffer over (once); the compressed body stays until <see cref="Release"/>.</summary>
    internal byte[] TakeOutput()
    {
        var output = _output;
        _output = [];
        return output;
    }

    /// <summary>Gives back what is still held. Safe to call again.</summary>
    public void Release()
    {
        if (_output.Length > 0)
            _owner.ReturnBuffer(_output);
        _output = [];
        if (_compressed.Length > 0)
            _owner.Buffers.Return(_compressed);
        _compressed = [];
    }
}
