using Polymur.Gateway.Configuration;
using Polymur.Gateway.Outputs;
using Polymur.Gateway.Primitives;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Outputs;

/// <summary>
/// The writer never dies silently: an exception inside its loop is counted, logged (rate-limited), and the writer
/// carries on over a real connection to a real sink. The one stand-in: a transport that throws where told to.
/// </summary>
public class WriterSupervisionTests
{
    [Test]
    [Timeout(60_000)]
    public async Task A_writer_whose_transport_throws_counts_it_logs_it_and_delivers_everything(CancellationToken cancel)
    {
        await using var sink = TcpSink.Start();
        var destination = new Destination("throwing", 1_000_000);
        using var logs = new LogCollector();
        // Sends 1 and 2 throw before sending anything; send 4 throws after the lines went out (they arrive twice).
        var transport = new ThrowingTransport(new TcpTransport(new DestinationAddress("127.0.0.1", sink.Port, null), TimeSpan.FromSeconds(5)), before: [1, 2], after: [4]);
        var writer = new DestinationWriter(destination, transport, new WriterOptions { ReconnectInitial = TimeSpan.FromMilliseconds(1), ReconnectMax = TimeSpan.FromMilliseconds(10) }, logs.CreateLogger("writer"));
        writer.Start();
        var expected = new HashSet<string>();
        for (int i = 0; i < 10; i++)
        {
            string text = ProxyClient.Lines($"sup.b{i}", 100);
            expected.UnionWith(text.TrimEnd('\n').Split('\n'));
            var bytes = System.Text.Encoding.ASCII.GetBytes(text);
            var batch = new Batch(bytes, bytes.Length, 100);
            destination.Offer(batch);
            batch.Release();
            await Assert.That(await Poll.UntilAsync(() => transport.Sends > i, TimeSpan.FromSeconds(10))).IsTrue(); // one send each
        }

        await Assert.That(await Poll.UntilAsync(() => destination.Counters.Delivered == 1000, TimeSpan.FromSeconds(20))).IsTrue()
            .Because($"delivered {destination.Counters.Delivered}, errors {destination.Counters.WriterErrors}");
        await Assert.That(destination.Counters.WriterErrors).IsEqualTo(3);
        await Assert.That(destination.WriterRunning).IsTrue();
        await Assert.That(logs.Lines.Count(l => l.Contains("writer error InvalidOperationException"))).IsEqualTo(1); // once per 10 s
        await writer.StopAsync(TimeSpan.FromSeconds(5), DropReason.ShutdownTimeout);
        await Assert.That(destination.WriterRunning).IsFalse();
        var got = await sink.SettleAsync();
        await Assert.That(got.ToHashSet().SetEquals(expected)).IsTrue();
        await Assert.That(destination.Counters.Delivered).IsEqualTo(1000);
    }

    // The loop catches everything, so no real fault stops a writer any more; /healthz is checked against the flag a
    // writer clears when its loop ends, set here by hand.
    [Test]
    public async Task Healthz_fails_and_names_the_destination_while_its_writer_is_not_running()
    {
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink);
        using var stats = gw.StatsClient();
        await Assert.That((int)(await stats.GetAsync("/healthz")).StatusCode).IsEqualTo(200);
        var destination = gw.App.Destinations.Current[0];
        destination.WriterRunning = false;
        try
        {
            var health = await stats.GetAsync("/healthz");
            await Assert.That((int)health.StatusCode).IsEqualTo(503);
            await Assert.That(await health.Content.ReadAsStringAsync()).Contains(sink.Address);
            await Assert.That(await stats.GetStringAsync("/metrics")).Contains($"polymur_gateway_destination_writer_running{{destination=\"{sink.Address}\"}} 0");
        }
        finally
        {
            destination.WriterRunning = true;
        }
    }

    /// <summary>A real transport whose sends throw on the numbered calls, before or after really sending.</summary>
    private sealed class ThrowingTransport(IOutputTransport inner, int[] before, int[] after) : IOutputTransport
    {
        private readonly int[] _before = before, _after = after;
        private int _sends;

        public int Sends => Volatile.Read(ref _sends);

        public async ValueTask<IOutputConnection> ConnectAsync(CancellationToken cancel) => new Connection(this, await inner.ConnectAsync(cancel));

        private sealed class Connection(ThrowingTransport owner, IOutputConnection inner) : IOutputConnection
        {
            public Task Closed => inner.Closed;

            public string? CloseError => inner.CloseError;

            public async ValueTask<SendResult> SendAsync(IList<ArraySegment<byte>> buffers)
            {
                int n = Interlocked.Increment(ref owner._sends);
                if (owner._before.Contains(n))
                    throw new InvalidOperationException($"send {n} thrown before sending");
                var result = await inner.SendAsync(buffers);
                if (owner._after.Contains(n))
                    throw new InvalidOperationException($"send {n} thrown after sending");
                return result;
            }

            public Acknowledgement ReadAcknowledged() => inner.ReadAcknowledged();

            public void Abort() => inner.Abort();

            public void Reset() => inner.Reset();

            public ValueTask DisposeAsync() => inner.DisposeAsync();
        }
    }
}
