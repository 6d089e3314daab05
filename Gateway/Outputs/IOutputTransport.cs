namespace Polymur.Gateway.Outputs;

/// <summary>Where a destination's bytes go: a TCP Graphite daemon, or stdout with -console-out.</summary>
internal interface IOutputTransport
{
    ValueTask<IOutputConnection> ConnectAsync(CancellationToken cancel);
}

/// <summary>How a send ended: every byte taken (Error null), or how many were taken before it failed.</summary>
internal readonly record struct SendResult(long BytesSent, string? Error)
{
    /// <summary>The socket error the kernel reports when TCP_USER_TIMEOUT or keepalive ended the connection.</summary>
    public const string TimedOut = nameof(System.Net.Sockets.SocketError.TimedOut);
}

/// <summary>
/// How far a peer acknowledged: <see cref="Payload"/> into the bytes given to SendAsync (for TLS, the plaintext
/// whose records are acknowledged whole), and <see cref="Wire"/> bytes on the wire, which also grows while a send
/// is still in progress (the progress deadline watches it). The same without TLS.
/// </summary>
internal readonly record struct Acknowledgement(long Payload, long Wire);

/// <summary>
/// One open connection. A failed send means the connection is gone. Offsets count the bytes given to
/// <see cref="SendAsync"/> on this connection, from 0. Used by one writer at a time: not thread-safe.
/// </summary>
internal interface IOutputConnection : IAsyncDisposable
{
    /// <summary>Writes the buffers in order; on failure, says how many bytes the kernel had taken.</summary>
    ValueTask<SendResult> SendAsync(IList<ArraySegment<byte>> buffers);

    /// <summary>
    /// How far the peer's TCP has acknowledged, read from the kernel now. Also valid after the connection failed:
    /// then it is the last the kernel knew.
    /// </summary>
    Acknowledgement ReadAcknowledged();

    /// <summary>Completes when the peer closes or resets the connection (Graphite daemons never write back).</summary>
    Task Closed { get; }

    /// <summary>
    /// Once <see cref="Closed"/> completed: null when the peer closed it, else the socket error that ended it
    /// ("TimedOut" when the kernel gave up under TCP_USER_TIMEOUT or keepalive).
    /// </summary>
    string? CloseError { get; }

    /// <summary>Breaks off a send in progress (drain time is over), never discarding what the kernel already took.</summary>
    void Abort();

    /// <summary>
    /// Ends a connection whose peer stopped acknowledging: reset at once, a send in progress fails, and what the
    /// kernel held is discarded (it was not acknowledged, so the writer sends it again on the next connection).
    /// </summary>
    void Reset();
}
