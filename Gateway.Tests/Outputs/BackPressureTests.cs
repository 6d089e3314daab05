using Polymur.Gateway.Configuration;
using Polymur.Gateway.Outputs;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Outputs;

/// <summary>Full queues of a connected destination make requests wait, then 503: never a silent drop.</summary>
public class BackPressureTests
{
    [Test]
    public async Task A_destination_that_stops_reading_gets_503s_and_no_point_is_dropped()
    {
        await using var stalled = new StalledSink();
        await using var gw = await TestGateway.StartAsync([], o => o with
        {
            Destinations = [new DestinationAddress("127.0.0.1", stalled.Port, null)],
            OutgoingQueueCap = 5000,
            QueueWait = TimeSpan.FromMilliseconds(200),
        });
        using var client = gw.Client();
        var destination = gw.App.Destinations.Current[0];

        int accepted = 0;
        Reply? refused = null;
        for (int i = 0; i < 400 && refused is null; i++)
        {
            var reply = await client.IngestAsync("123", ProxyClient.Lines($"b{i}", 5000));
            if (reply.Status == 200)
                accepted++;
            else
                refused = reply;
        }

        await Assert.That(refused).IsNotNull();
        await Assert.That(refused!.Status).IsEqualTo(503);
        await Assert.That(refused.Body).IsEqualTo("destination queues full for 0.2s (-queue-wait)\n");
        await Assert.That(destination.Connected).IsTrue();
        await Assert.That(destination.Counters.DroppedTotal).IsEqualTo(0);
        await Assert.That(destination.Counters.Routed).IsEqualTo(accepted * 5000L);
        await Assert.That(gw.App.Counters.LinesReceived).IsEqualTo(accepted * 5000L);

        stalled.Resume();
        await Assert.That(await Poll.UntilAsync(() => stalled.Lines == accepted * 5000L && destination.Counters.Delivered == accepted * 5000L, TimeSpan.FromSeconds(30))).IsTrue(); // delivered once acknowledged
        await Assert.That(destination.Counters.Delivered).IsEqualTo(accepted * 5000L);
    }

    [Test]
    public async Task A_request_waits_for_room_and_is_accepted_when_the_writer_catches_up()
    {
        await using var stalled = new StalledSink();
        await using var gw = await TestGateway.StartAsync([], o => o with
        {
            Destinations = [new DestinationAddress("127.0.0.1", stalled.Port, null)],
            OutgoingQueueCap = 5000,
            QueueWait = TimeSpan.FromSeconds(20),
        });
        using var client = gw.Client();

        // Fill the kernel buffers and the queue, until a request has to wait.
        Task<Reply>? waiting = null;
        for (int i = 0; i < 400; i++)
        {
            var send = client.IngestAsync("123", ProxyClient.Lines($"b{i}", 5000));
            if (await Task.WhenAny(send, Task.Delay(500)) != send)
            {
                waiting = send;
                break;
            }
            await Assert.That((await send).Status).IsEqualTo(200);
        }
        await Assert.That(waiting is not null).IsTrue();

        stalled.Resume();
        var reply = await waiting!;

        await Assert.That(reply.Status).IsEqualTo(200);
        await Assert.That(gw.App.Counters.Refused(503)).IsEqualTo(0);
    }
}
