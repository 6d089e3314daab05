namespace Polymur.Gateway.Tests.Support;

/// <summary>Posts batches of unique lines continuously until stopped, and remembers which were accepted (200).</summary>
public sealed class SteadyLoad : IAsyncDisposable
{
    private readonly ProxyClient _client;
    private readonly Func<string> _key;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task[] _workers;
    private long _accepted, _refused, _failed;

    public SteadyLoad(string baseAddress, Func<string>? key = null, int workers = 2, int linesPerBatch = 1000, string prefix = "load")
    {
        _client = new ProxyClient(baseAddress);
        _key = key ?? (() => "123");
        _workers = Enumerable.Range(0, workers).Select(w => Task.Run(async () =>
        {
            for (int n = 0; !_stop.IsCancellationRequested; n++)
            {
                try
                {
                    var reply = await _client.IngestAsync(_key(), ProxyClient.Lines($"{prefix}.w{w}.b{n}", linesPerBatch));
                    if (reply.Status == 200)
                        Interlocked.Add(ref _accepted, linesPerBatch);
                    else
                        Interlocked.Increment(ref _refused);
                }
                catch (Exception) when (!_stop.IsCancellationRequested)
                {
                    Interlocked.Increment(ref _failed);
                    await Task.Delay(50);
                }
                catch (Exception)
                {
                    return;
                }
            }
        })).ToArray();
    }

    /// <summary>Lines in batches answered 200.</summary>
    public long AcceptedLines => Interlocked.Read(ref _accepted);

    public long RefusedBatches => Interlocked.Read(ref _refused);

    public long FailedRequests => Interlocked.Read(ref _failed);

    public async Task StopAsync()
    {
        _stop.Cancel();
        await Task.WhenAll(_workers);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _client.Dispose();
    }
}
