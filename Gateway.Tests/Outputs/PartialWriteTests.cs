using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Polymur.Gateway.Outputs;
using Polymur.Gateway.Primitives;

namespace Polymur.Gateway.Tests.Outputs;

/// <summary>
/// What the writer resends after a write that the kernel took only part of. A real socket cannot be made to
/// fail after an exact number of bytes, so this drives the real writer through a scripted transport: the one
/// place in the suite where a stand-in replaces the network, and only the failure point is scripted.
/// </summary>
public class PartialWriteTests
{
    /// <summary>With the resend window (on with the spool).</summary>
    [Test]
    [Arguments(0)]
    [Arguments(1)]
    [Arguments(17)]
    [Arguments(18)]
    [Arguments(100)]
    [Arguments(1799)]
    public async Task Lines_taken_whole_are_delivered_the_rest_resent_from_a_line_start(int failAfter)
    {
        var transport = new ScriptedTransport(failAfter);
        var destination = new Destination("scripted", 1_000_000);
        var writer = new DestinationWriter(destination, transport, new WriterOptions { ReconnectInitial = TimeSpan.FromMilliseconds(1), ResendWindowBytes = WriterOptions.SpoolResendWindowBytes }, NullLogger.Instance);
        writer.Start();
        // 100 lines of 18 bytes in two batches.
        string text = string.Concat(Enumerable.Range(0, 100).Select(i => $"metric.{i:000} 1 1700\n"));
        await Assert.That(text.Length).IsEqualTo(1800);
        foreach (var half in new[] { text[..900], text[900..] })
        {
            var bytes = Encoding.ASCII.GetBytes(half);
            var batch = new Batch(bytes, bytes.Length, 50);
            destination.Offer(batch);
            batch.Release();
        }

        await writer.StopAsync(TimeSpan.FromSeconds(5), DropReason.ShutdownTimeout);

        // Every line arrives whole. The second connection starts on a line: with what the first one's kernel took
        // whole, sent again in case the destination never read it, then the rest. Each line counts as delivered once.
        var received = transport.Connections.Select(c => Encoding.ASCII.GetString(c.ToArray())).ToList();
        await Assert.That(received.Count).IsEqualTo(2);
        string wholeLinesOfFirst = received[0][..(received[0].LastIndexOf('\n') + 1)];
        await Assert.That(received[1]).IsEqualTo(text);
        await Assert.That(destination.Counters.Resent).IsEqualTo(wholeLinesOfFirst.Count(c => c == '\n'));
        await Assert.That(destination.Counters.Delivered).IsEqualTo(100);
        await Assert.That(destination.Counters.DroppedTotal).IsEqualTo(0);
        await Assert.That(destination.QueuedPoints).IsEqualTo(0);
    }

    /// <summary>Without the resend window (no spool): every line arrives exactly once, whole.</summary>
    [Test]
    [Arguments(1)]
    [Arguments(100)]
    [Arguments(1799)]
    public async Task Without_a_resend_window_each_line_is_sent_once(int failAfter)
    {
        var transport = new ScriptedTransport(failAfter);
        var destination = new Destination("scripted", 1_000_000);
        var writer = new DestinationWriter(destination, transport, new WriterOptions { ReconnectInitial = TimeSpan.FromMilliseconds(1) }, NullLogger.Instance);
        writer.Start();
        string text = string.Concat(Enumerable.Range(0, 100).Select(i => $"metric.{i:000} 1 1700\n"));
        var bytes = Encoding.ASCII.GetBytes(text);
        var batch = new Batch(bytes, bytes.Length, 100);
        destination.Offer(batch);
        batch.Release();

        await writer.StopAsync(TimeSpan.FromSeconds(5), DropReason.ShutdownTimeout);

        var received = transport.Connections.Select(c => Encoding.ASCII.GetString(c.ToArray())).ToList();
        string wholeLinesOfFirst = received[0][..(received[0].LastIndexOf('\n') + 1)];
        await Assert.That(wholeLinesOfFirst + received[1]).IsEqualTo(text);
        await Assert.That(destination.Counters.Resent).IsEqualTo(0);
        await Assert.That(destination.Counters.Delivered).IsEqualTo(100);
    }

    /// <summary>First connection: takes <c>failAfter</c> bytes, then fails. Later connections take everything.</summary>
    private sealed class ScriptedTransport(int failAfter) : IOutputTransport
    {
        public List<MemoryStream> Connections { get; } = [];

        public ValueTask<IOutputConnection> ConnectAsync(CancellationToken cancel)
        {
            var sink = new MemoryStream();
            Connections.Add(sink);
            return new(new Connection(sink, Connections.Count == 1 ? failAfter : int.MaxValue));
        }

        private sealed class Connection(MemoryStream sink, int budget) : IOutputConnection
        {
            public Task Closed { get; } = new TaskCompletionSource().Task;

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

            public void Abort()
            {
            }

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }
}
