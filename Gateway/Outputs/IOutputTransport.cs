namespace Polymur.Gateway.Outputs;

/// <summary>Where a destination's bytes go: a TCP Graphite daemon, or stdout with -console-out.</summary>
internal interface IOutputTransport
{
    ValueTask<IOutputConnection> ConnectAsync(CancellationToken cancel);
}

/// <summary>How a send ended: every byte taken (Error null), or how many were taken before it failed.</summary>
internal readonly record struct SendResult(long BytesSent, string? Error);

/// <summary>One open connection. A failed send means the connection is gone.</summary>
internal interface IOutputConnection : IAsyncDisposable
{
    /// <summary>Writes the buffers in order; on failure, says how many bytes the kernel had taken.</summary>
    ValueTask<SendResult> SendAsync(IList<ArraySegment<byte>> buffers);

    /// <summary>Completes when the peer closes or resets the connection (Graphite daemons never write back).</summary>
    Task Closed { get; }

    /// <summary>Breaks off a send in progress (drain time is over), never discarding what the kernel already took.</summary>
    void Abort();
}
