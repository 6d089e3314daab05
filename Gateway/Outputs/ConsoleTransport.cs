namespace Polymur.Gateway.Outputs;

/// <summary>-console-out: lines go to stdout (logs go to stderr), so `make run` shows what would be sent.</summary>
internal sealed class ConsoleTransport(Stream stdout) : IOutputTransport
{
    public ValueTask<IOutputConnection> ConnectAsync(CancellationToken cancel) => new(new Connection(stdout));

    private sealed class Connection(Stream stdout) : IOutputConnection
    {
        public Task Closed { get; } = new TaskCompletionSource().Task;

        public async ValueTask SendAsync(IList<ArraySegment<byte>> buffers, CancellationToken cancel)
        {
            foreach (var buffer in buffers)
                await stdout.WriteAsync(buffer, cancel);
            await stdout.FlushAsync(cancel);
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
