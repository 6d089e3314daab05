using Polymur.Gateway.Configuration;
using Polymur.Gateway.Outputs;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Outputs;

/// <summary>
/// "Delivered" means the destination's TCP acknowledged the bytes. A destination that accepts and stops reading
/// fills its receive buffer (acknowledged: the one gap, see README) and then the gateway's send buffer (not
/// acknowledged): what sits in the gateway's send buffer is written, not delivered.
/// </summary>
[NotInParallel("stalled-destination")]
public class AcknowledgedDeliveryTests
{
    // ProxyClient.Lines("ack.bNNNN", 500): "ack.bNNNN.123 123.456 1700000000\n", about 32 bytes a line; small
    // batches, so that each send fits in what room is left and the kernel is filled up to the last batch.
    private const int MaxBatches = 2000, LinesPerBatch = 500;

    // A stalled reader's kernel acknowledges at most its receive buffer: 64 KiB asked, doubled by Linux for its
    // bookkeeping, plus what is in flight. Four times that is still far below what the gateway writes.
    private const long PeerBufferBytes = 4 * 128 * 1024;

    [Test]
    [Arguments(false)]
    [Arguments(true)]
    [Timeout(120_000)]
    public async Task What_sits_in_the_send_buffer_is_written_not_delivered_until_the_peer_reads(bool tls, CancellationToken cancel)
    {
        using var certificate = new TestCertificate();
        await using var stalled = new StalledSink(tls ? certificate : null);
        await using var gw = await TestGateway.StartAsync([], o => o with
        {
            Destinations = [tls ? Tls($"tls://127.0.0.1:{stalled.Port}") : new DestinationAddress("127.0.0.1", stalled.Port, null)],
            DestinationCaPath = tls ? certificate.CertPath : null,
            OutgoingQueueCap = 10_000_000,
            DestinationTimeout = TimeSpan.FromMinutes(5), // this test is about accounting, not about declaring it down
        });
        var destination = gw.App.Destinations.Current[0];
        using var client = gw.Client();
        // One batch at a time, each once the last was written, until the kernel takes no more: what fits in the two
        // buffers. (Over TLS a send completes only once all of it is encrypted and taken, so a gather must fit.)
        long lineBytes = ProxyClient.Lines("ack.b0000", LinesPerBatch).Length / LinesPerBatch;
        int sent = 0;
        while (sent < MaxBatches)
        {
            await Assert.That((await client.IngestAsync("123", ProxyClient.Lines($"ack.b{sent:0000}", LinesPerBatch))).Status).IsEqualTo(200);
            sent++;
            if (!await Poll.UntilAsync(() => destination.Counters.Written >= sent * LinesPerBatch, TimeSpan.FromSeconds(3)))
                break;
        }
        // More than the peer could ever have acknowledged was handed to the kernel.
        await Assert.That(destination.Counters.WrittenBytes).IsGreaterThan(PeerBufferBytes)
            .Because($"{sent} batches sent, written {destination.Counters.WrittenBytes} bytes, delivered {destination.Counters.Delivered} lines; {string.Join(" | ", gw.Logs.Lines.Where(l => l.Contains("estination")))}");
        var c = destination.Counters;
        Console.WriteLine($"stalled{(tls ? " tls" : "")}: {sent} batches sent; written {c.Written} lines ({c.WrittenBytes} bytes), delivered {c.Delivered} lines ({c.Delivered * lineBytes} bytes), queued {c.Queued}");
        await Assert.That(c.Delivered * lineBytes).IsLessThanOrEqualTo(PeerBufferBytes);
        await Assert.That(c.Routed).IsEqualTo(c.Delivered + c.DroppedTotal + c.Queued + c.SpoolPending);
        await Assert.That(c.Queued).IsGreaterThan(c.Written - c.Delivered - 1); // written but unacknowledged is queued
        await Assert.That(destination.Connected).IsTrue();

        // Once it reads, everything is acknowledged, delivered once, and arrives once.
        stalled.Resume();
        long total = sent * LinesPerBatch;
        await Assert.That(await Poll.UntilAsync(() => destination.Counters.Delivered == total && stalled.Lines == total, TimeSpan.FromSeconds(60))).IsTrue()
            .Because($"delivered {destination.Counters.Delivered}, arrived {stalled.Lines}");
        await Assert.That(destination.Counters.Resent).IsEqualTo(0);
        await Assert.That(destination.Counters.Queued).IsEqualTo(0);
    }

    /// <summary>
    /// At shutdown the writer waits, within -drain-timeout, for acknowledgements; what the destination never
    /// acknowledged is not delivered: it is spooled, or without a spool dropped and counted as shutdown_timeout.
    /// </summary>
    [Test]
    [Arguments(false)]
    [Arguments(true)]
    [Timeout(120_000)]
    public async Task At_stop_what_was_never_acknowledged_is_spooled_or_counted_dropped_not_delivered(bool spool, CancellationToken cancel)
    {
        await using var stalled = new StalledSink();
        string? spoolDir = spool ? Directory.CreateTempSubdirectory("pgw-ackstop-").FullName : null;
        await using var gw = await TestGateway.StartAsync([], o => o with
        {
            Destinations = [new DestinationAddress("127.0.0.1", stalled.Port, null)],
            OutgoingQueueCap = 10_000_000,
            DestinationTimeout = TimeSpan.FromMinutes(5),
            DrainTimeout = TimeSpan.FromSeconds(1),
            SpoolDir = spoolDir,
        });
        var destination = gw.App.Destinations.Current[0];
        using var client = gw.Client();
        long lineBytes = ProxyClient.Lines("stop.b00", 5000).Length / 5000;
        for (int i = 0; i < 10; i++)
            await Assert.That((await client.IngestAsync("123", ProxyClient.Lines($"stop.b{i:00}", 5000))).Status).IsEqualTo(200);
        await Assert.That(await Poll.UntilAsync(() => destination.Counters.WrittenBytes > PeerBufferBytes, TimeSpan.FromSeconds(30))).IsTrue();

        await gw.App.StopAsync();

        var c = destination.Counters;
        long notAcknowledged = c.Routed - c.Delivered;
        Console.WriteLine($"stop{(spool ? " with spool" : "")}: routed {c.Routed}, delivered {c.Delivered}, spooled {c.Spooled}, dropped at the drain timeout {c.Dropped(DropReason.ShutdownTimeout)}");
        await Assert.That(c.Delivered * lineBytes).IsLessThanOrEqualTo(PeerBufferBytes);
        await Assert.That(c.Queued).IsEqualTo(0);
        if (spool)
        {
            await Assert.That(c.Spooled).IsEqualTo(notAcknowledged);
            await Assert.That(c.DroppedTotal).IsEqualTo(0);
        }
        else
        {
            await Assert.That(c.Dropped(DropReason.ShutdownTimeout)).IsEqualTo(notAcknowledged);
        }
    }

    /// <summary>
    /// Spooled records replayed into a destination that stops reading are written, not delivered: they stay in the
    /// spool (pending, their files kept) until the destination's TCP acknowledges them.
    /// </summary>
    [Test]
    [Timeout(120_000)]
    public async Task Replayed_records_leave_the_spool_only_once_acknowledged(CancellationToken cancel)
    {
        int port = Posix.FreePort();
        string spoolDir = Directory.CreateTempSubdirectory("pgw-ackreplay-").FullName;
        await using var gw = await TestGateway.StartAsync([], o => o with
        {
            Destinations = [new DestinationAddress("127.0.0.1", port, null)],
            SpoolDir = spoolDir,
            SpoolReplayRate = 10_000_000,
            DestinationTimeout = TimeSpan.FromMinutes(5),
        });
        var destination = gw.App.Destinations.Current[0];
        using var client = gw.Client();
        await Assert.That(await Poll.UntilAsync(() => destination.Down, TimeSpan.FromSeconds(10))).IsTrue();
        const int total = 10 * 5000;
        for (int i = 0; i < 10; i++)
            await Assert.That((await client.IngestAsync("123", ProxyClient.Lines($"replay.b{i}", 5000))).Status).IsEqualTo(200);
        // All spooled (a down destination may first queue one batch in memory).
        await Assert.That(await Poll.UntilAsync(() => destination.Counters.SpoolPending + destination.Counters.Queued == total, TimeSpan.FromSeconds(10))).IsTrue();
        long spooled = destination.Counters.SpoolPending;
        await Assert.That(spooled).IsGreaterThanOrEqualTo(total - 5000);

        // It comes back, reads nothing: the records go into the kernel's buffers, unacknowledged.
        await using var stalled = new StalledSink(port: port);
        await Assert.That(await Poll.UntilAsync(() => destination.Counters.Written >= total - 5000, TimeSpan.FromSeconds(30))).IsTrue()
            .Because($"written {destination.Counters.Written}");
        long lineBytes = ProxyClient.Lines("replay.b0", 5000).Length / 5000;
        Console.WriteLine($"replay into a stalled sink: written {destination.Counters.Written}, delivered {destination.Counters.Delivered}, spool pending {destination.Counters.SpoolPending}");
        await Assert.That(destination.Counters.Delivered * lineBytes).IsLessThanOrEqualTo(PeerBufferBytes);
        await Assert.That(destination.Counters.SpoolPending).IsGreaterThanOrEqualTo(spooled - PeerBufferBytes / lineBytes);
        await Assert.That(Directory.GetFiles(spoolDir, "*.spool", SearchOption.AllDirectories)).IsNotEmpty();

        stalled.Resume();
        await Assert.That(await Poll.UntilAsync(() => destination.Counters.SpoolPending == 0 && stalled.Lines == total, TimeSpan.FromSeconds(30))).IsTrue()
            .Because($"spool pending {destination.Counters.SpoolPending}, arrived {stalled.Lines}");
        await Assert.That(destination.Counters.Delivered).IsEqualTo(total);
        await Assert.That(await Poll.UntilAsync(() => Directory.GetFiles(spoolDir, "*.spool", SearchOption.AllDirectories).Length == 0, TimeSpan.FromSeconds(10))).IsTrue();
    }

    private static DestinationAddress Tls(string text) =>
        DestinationAddress.TryParse(text, out var address, out string error) ? address! : throw new FormatException(error);
}
