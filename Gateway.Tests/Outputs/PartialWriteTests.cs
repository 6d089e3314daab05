using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Polymur.Gateway.Outputs;
using Polymur.Gateway.Primitives;

namespace Polymur.Gateway.Tests.Outputs;

/// <summary>
/// What the writer sends again after a write that the kernel took only part of. A real socket cannot be made to
/// fail after an exact number of bytes, so this drives the real writer through a scripted transport: the one
/// place in the suite where a stand-in replaces the network, and only the failure point and how far the peer
/// acknowledged are scripted.
/// </summary>
public class PartialWriteTests
{
    /// <summary>
    /// The peer acknowledged everything the kernel took: what it did not take whole goes again, after the batch it
    /// acknowledged whole last (a peer that broke the connection may have lost that unread: RecentlyAcknowledged).
    /// </summary>
    [Test]
    [Arguments(0)]
    [Arguments(1)]
    [Arguments(17)]
    [Arguments(18)]
    [Arguments(100)]
    [Arguments(899)]
    [Arguments(900)]
    [Arguments(1799)]
    public async Task Lines_acknowledged_whole_are_delivered_once_and_the_rest_follows_from_a_line_start(int failAfter)
    {
        var (received, destination) = await RunAsync(failAfter, acknowledgedOnFirst: true);

        string wholeLinesOfFirst = received[0][..(received[0].LastIndexOf('\n') + 1)];
        bool firstBatchWhole = failAfter >= 900;
        await Assert.That(received.Count).IsEqualTo(2);
        await Assert.That(received[1]).IsEqualTo((firstBatchWhole ? Text[..900] : "") + Text[wholeLinesOfFirst.Length..]);
        await Assert.That(destination.Counters.Resent).IsEqualTo(firstBatchWhole ? 50 : 0);
        await Assert.That(destination.Counters.Delivered).IsEqualTo(100);
        await Assert.That(destination.Counters.DroppedTotal).IsEqualTo(0);
        await Assert.That(destination.QueuedPoints).IsEqualTo(0);
    }

    /// <summary>The peer acknowledged nothing: everything goes again, and is delivered once, when acknowledged.</summary>
    [Test]
    [Arguments(1)]
    [Arguments(900)]
    [Arguments(1799)]
    public async Task Lines_never_acknowledged_are_sent_again_whole_and_delivered_once(int failAfter)
    {
        var (received, destination) = await RunAsync(failAfter, acknowledgedOnFirst: false);

        await Assert.That(received.Count).IsEqualTo(2);
        await Assert.That(received[1]).IsEqualTo(Text);
        // Lines of the batches taken whole were in the unacknowledged tail: sent again, counted as resent.
        await Assert.That(destination.Counters.Resent).IsEqualTo(failAfter >= 900 ? 50 : 0);
        await Assert.That(destination.Counters.Delivered).IsEqualTo(100);
        await Assert.That(destination.Counters.Written).IsEqualTo(100 + (failAfter >= 900 ? 50 : 0));
        await Assert.That(destination.QueuedPoints).IsEqualTo(0);
    }

    // 100 lines of 18 bytes.
    private static readonly string Text = string.Concat(Enumerable.Range(0, 100).Select(i => $"metric.{i:000} 1 1700\n"));

    // Two batches of 50 lines, through a first connection that fails after failAfter bytes.
    private static async Task<(List<string> Received, Destination Destination)> RunAsync(int failAfter, bool acknowledgedOnFirst)
    {
        var transport = new ScriptedTransport(failAfter, acknowledgedOnFirst);
        var destination = new Destination("scripted", 1_000_000);
        var writer = new DestinationWriter(destination, transport, new WriterOptions { ReconnectInitial = TimeSpan.FromMilliseconds(1) }, NullLogger.Instance);
        writer.Start();
        foreach (var half in new[] { Text[..900], Text[900..] })
        {
            var bytes = Encoding.ASCII.GetBytes(half);
            var batch = new Batch(bytes, bytes.Length, 50);
            destination.Offer(batch);
            batch.Release();
        }
        await writer.StopAsync(TimeSpan.FromSeconds(5), DropReason.ShutdownTimeout);
        return ([.. transport.Connections.Select(c => Encoding.ASCII.GetString(c.ToArray()))], destination);
    }

    /// <summary>
    /// First connection: takes <c>failAfter</c> bytes, then fails, its peer having acknowledged all of them or none.
    /// Later connections take and acknowledge everything.
    /// </summary>
    private sealed class ScriptedTransport(int failAfter, bool acknowledgedOnFirst) : IOutputTransport
    {
        public List<MemoryStream> Connections { get; } = [];

        public ValueTask<IOutputConnection> ConnectAsync(CancellationToken cancel)
        {
            var sink = new MemoryStream();
            Connections.Add(sink);
            bool first = Connections.Count == 1;
            return new(new Connection(sink, first ? failAfter : int.MaxValue, !first || acknowledgedOnFirst));
        }

        private sealed class Connection(MemoryStream sink, int budget, bool acknowledges) : IOutputConnection
        {
            public Task Closed { get; } = new TaskCompletionSource().Task;

            public string? CloseError => null;

            public ValueTask<SendResult> SendAsync(IList<ArraySegment<byte>> buffers)
            {
                long sent = 0;
                foreach (var buffer in buffers)
                {
                    int n = (int)Math.Min(buffer.Count, budget - sink.Length);
                    sink.Write(buffer.AsSpan(0, n));
                    sent += n;
                    if (n < buffer.Count)
                        return new(new SendResult(sent, "ConnectionReset"));
                }
                return new(new SendResult(sent, null));
            }

            public Acknowledgement ReadAcknowledged() => acknowledges ? new(sink.Length, sink.Length) : default;

            public void Abort()
            {
            }

            public void Reset()
            {
            }

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }
}
