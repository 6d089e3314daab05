namespace Polymur.Gateway.Outputs;

/// <summary>Where a destination's bytes go: a TCP Graphite daemon, or stdout with -console-out.</summary>
internal interface IOutputTransport
{
    ValueTask<IOutputConnection> ConnectAsync(CancellationToken cancel);
}

/// <summary>One open connection. Sends whole gathers; a failure means the connection is gone.</summary>
internal interface IOutputConnection : IAsyncDisposable
{
    /// <summary>Writes every buffer, in order, or throws.</summary>
    ValueTask SendAsync(IList<ArraySegment<byte>> buffers, CancellationToken cancel);

    /// <summary>Completes when the peer closes or resets the connection (Graphite daemons never write back).</summary>
    Task Closed { get; }
}
