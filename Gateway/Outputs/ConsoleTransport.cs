namespace Polymur.Gateway.Outputs;

/// <summary>
/// -console-out: lines go to stdout (logs go to stderr), so `make run` shows what would be sent. What was
/// written and flushed counts as acknowledged.
/// </summary>
internal sealed class ConsoleTransport(Stream stdout) : IOutputTransport
{
    public ValueTask<IOutputConnection> ConnectAsync(CancellationToken cancel) => new(new Connection(stdout));

    private sealed class Connection(Stream stdout) : IOutputConnection
    {
        private long _flushed;

        public Task Closed { get; } = new TaskCompletionSource().Task;

        public string? CloseError => null;

        public Acknowledgement ReadAcknowledged() => new(_flushed, _flushed);

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
                _flushed += sent;
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

        public void Reset()
        {
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
