namespace Polymur.Gateway.Outputs;

/// <summary>-console-out: lines go to stdout (logs go to stderr), so `make run` shows what would be sent.</summary>
internal sealed class ConsoleTransport(Stream stdout) : IOutputTransport
{
    public ValueTask<IOutputConnection> ConnectAsync(CancellationToken cancel) => new(new Connection(stdout));

    private sealed class Connection(Stream stdout) : IOutputConnection
    {
        public Task Closed { get; } = new TaskCompletionSource().Task;

        public async ValueTask<SendResult> SendAsync(IList<ArraySegment<byte>> buffers)
        {
            long sent = 0;
            try
            {
                foreach (var buffer in buffers)
                {
                    await stdout.WriteAsync(buffer);
                    sent += buffer.Count;
                }
                await stdout.FlushAsync();
                return new SendResult(sent, null);
            }
            catch (IOException e)
            {
                return new SendResult(sent, e.Message);
            }
        }

        public void Abort()
        {
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
