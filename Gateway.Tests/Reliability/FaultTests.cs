using System.Net;
using System.Net.Sockets;
using Polymur.Gateway.Configuration;
using Polymur.Gateway.Outputs;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Reliability;

/// <summary>
/// make test-faults: parts fail under steady load, and every point stays accounted for:
/// for each destination, routed = delivered + dropped + queued, and routed = lines the gateway accepted.
/// </summary>
[Category("faults")]
public class FaultTests
{
    private static async Task AssertIdentityAsync(TestGateway gw, SteadyLoad load)
    {
        await Assert.That(gw.App.Counters.LinesReceived).IsEqualTo(load.AcceptedLines);
        foreach (var d in gw.App.Destinations.Current)
        {
            var c = d.Counters;
            await Assert.That(c.Delivered + c.DroppedTotal + c.Queued + c.SpoolPending).IsEqualTo(c.Routed).Because(d.Name);
            await Assert.That(c.Routed).IsEqualTo(load.AcceptedLines).Because(d.Name);
        }
    }

    // Generous: these wait for things that must happen; a slow machine only takes longer to get there.
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    // A gateway that has stopped has closed its connections: once the sink has read to the end, it has all there is.
    private static async Task AssertSinkGotAllAsync(TcpSink sink, SteadyLoad load)
    {
        await Assert.That(await sink.WaitForEndAsync((int)load.AcceptedLines, Deadline)).IsNotNull().Because($"{sink.Count} of {load.AcceptedLines} lines");
        await Assert.That((long)sink.Count).IsEqualTo(load.AcceptedLines);
    }

    private static string? SpoolDir(bool spool) => spool ? Directory.CreateTempSubdirectory("pgw-faults-").FullName : null;

    // With a spool, a stopped gateway has dropped nothing: every point was delivered or is on disk.
    private static async Task AssertNothingDroppedAsync(TestGateway gw)
    {
        foreach (var d in gw.App.Destinations.Current)
        {
            await Assert.That(d.Counters.DroppedTotal).IsEqualTo(0).Because(d.Name);
            await Assert.That(d.Counters.Delivered + d.Counters.SpoolPending).IsEqualTo(d.Counters.Routed).Because(d.Name);
        }
    }

    [Test]
    [Arguments(false)]
    [Arguments(true)]
    public async Task A_destination_killed_and_restarted(bool spool)
    {
        await using var steady = TcpSink.Start();
        var flaky = TcpSink.Start();
        int port = flaky.Port;
        await using var gw = await TestGateway.StartAsync([steady, flaky], o => o with { OutgoingQueueCap = 50_000, SpoolDir = SpoolDir(spool) });
        await using var load = new SteadyLoad(gw.HttpAddress);

        // Each step waits for what it is about, not for a time: both take load, the one goes, the gateway sees
        // it down while batches are still answered, it comes back and gets lines again.
        await Assert.That(await Poll.UntilAsync(() => steady.Count > 0 && flaky.Count > 0, Deadline)).IsTrue();
        await flaky.DisposeAsync();
        var gone = gw.App.Destinations.Current[1];
        await Assert.That(await Poll.UntilAsync(() => gone.Down, Deadline)).IsTrue();
        long whenDown = load.AcceptedLines;
        await Assert.That(await Poll.UntilAsync(() => load.AcceptedLines > whenDown, Deadline)).IsTrue();
        await using var back = TcpSink.Start(port);
        await Assert.That(await Poll.UntilAsync(() => back.Count > 0, Deadline)).IsTrue();
        await load.StopAsync();
        await gw.App.StopAsync();

        await AssertIdentityAsync(gw, load);
        await AssertSinkGotAllAsync(steady, load);
        if (spool)
            await AssertNothingDroppedAsync(gw);
    }

    [Test]
    [Arguments(false)]
    [Arguments(true)]
    public async Task A_destination_that_accepts_but_never_reads(bool spool)
    {
        await using var steady = TcpSink.Start();
        await using var stalled = new StalledSink();
        await using var gw = await TestGateway.StartAsync([steady], o => o with
        {
            Destinations = [new DestinationAddress("127.0.0.1", steady.Port, null), new DestinationAddress("127.0.0.1", stalled.Port, null)],
            QueueWait = TimeSpan.FromMilliseconds(200),
            SpoolDir = SpoolDir(spool),
        });
        await using var load = new SteadyLoad(gw.HttpAddress);
        var stuck = gw.App.Destinations.Current[1];

        // Until its buffers are full and the gateway has to choose: spool its share, or refuse the batch.
        await Assert.That(await Poll.UntilAsync(() => spool ? stuck.Counters.SpoolPending > 0 : load.RefusedBatches > 0, Deadline)).IsTrue();
        await load.StopAsync();

        // It is connected, so it is waited for: without a spool requests get 503 instead of losing its points;
        // with one they are answered at once and its share waits on disk.
        if (spool)
        {
            await Assert.That(load.RefusedBatches).IsEqualTo(0);
            await Assert.That(stuck.Counters.SpoolPending).IsGreaterThan(0);
            await steady.WaitForAsync((int)load.AcceptedLines, Deadline); // the sink reads what the writer sent
            await Assert.That((long)steady.Count).IsEqualTo(load.AcceptedLines);
        }
        else
        {
            await Assert.That(load.RefusedBatches).IsGreaterThan(0);
        }
        await Assert.That(stuck.Counters.DroppedTotal).IsEqualTo(0);
        await Assert.That(gw.App.Counters.Refused(503)).IsEqualTo(load.RefusedBatches);
        await AssertIdentityAsync(gw, load);
        stalled.Resume();
    }

    [Test]
    [Arguments(false)]
    [Arguments(true)]
    public async Task A_destination_that_resets_every_connection(bool spool)
    {
        await using var steady = TcpSink.Start();
        using var resetter = new TcpListener(IPAddress.Loopback, 0);
        resetter.Start();
        int resets = 0;
        var resetting = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    using var s = await resetter.AcceptSocketAsync();
                    s.LingerState = new LingerOption(true, 0); // close with RST
                    Interlocked.Increment(ref resets);
                }
            }
            catch (Exception)
            {
            }
        });
        await using var gw = await TestGateway.StartAsync([steady], o => o with
        {
            Destinations = [new DestinationAddress("127.0.0.1", steady.Port, null), new DestinationAddress("127.0.0.1", ((IPEndPoint)resetter.LocalEndpoint).Port, null)],
            OutgoingQueueCap = 20_000,
            SpoolDir = SpoolDir(spool),
        });
        await using var load = new SteadyLoad(gw.HttpAddress);

        // Reset again and again while batches keep being answered.
        await Assert.That(await Poll.UntilAsync(() => Volatile.Read(ref resets) > 2 && load.AcceptedLines > 0, Deadline)).IsTrue();
        long afterResets = load.AcceptedLines;
        await Assert.That(await Poll.UntilAsync(() => load.AcceptedLines > afterResets, Deadline)).IsTrue();
        await load.StopAsync();
        await gw.App.StopAsync();
        resetter.Stop();

        await AssertSinkGotAllAsync(steady, load);
        await AssertIdentityAsync(gw, load);
        if (spool)
            await AssertNothingDroppedAsync(gw);
    }

    [Test]
    public async Task Consul_killed_and_restarted()
    {
        await using var consul = await ConsulAgent.StartAsync();
        await consul.PutKeyAsync("loader", "fault-key-0123456789ab");
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink, consul: consul.Settings());
        await using var load = new SteadyLoad(gw.HttpAddress, () => "fault-key-0123456789ab");

        await Assert.That(await Poll.UntilAsync(() => load.AcceptedLines > 0, Deadline)).IsTrue();
        await consul.KillAsync();
        // Batches are answered with the cached key once the gateway knows Consul is gone, and after it is back.
        await Assert.That(await Poll.UntilAsync(() => gw.Logs.All.Contains("Consul key sync failing"), Deadline)).IsTrue();
        long beforeOutage = load.AcceptedLines;
        await Assert.That(await Poll.UntilAsync(() => load.AcceptedLines > beforeOutage, Deadline)).IsTrue();
        long duringOutage = load.AcceptedLines - beforeOutage;
        long refusedKeysInOutage = gw.App.Counters.Refused(401);
        // A dev agent restarts empty, and the gateway may read it so before the key is put back: 401s from then
        // on are the restart's, not the outage's. Batches flow again once the key is back.
        await consul.RestartAsync();
        await consul.PutKeyAsync("loader", "fault-key-0123456789ab");
        await Assert.That(await Poll.UntilAsync(() => gw.Logs.All.Contains("Consul key sync recovered"), Deadline)).IsTrue();
        long recovered = load.AcceptedLines;
        await Assert.That(await Poll.UntilAsync(() => load.AcceptedLines > recovered, Deadline)).IsTrue();
        await load.StopAsync();
        await gw.App.StopAsync();

        await Assert.That(duringOutage).IsGreaterThan(0);
        // The outage cost no batch its key. (A 503 is a sink slow to read on a busy machine, not the outage's.)
        await Assert.That(refusedKeysInOutage).IsEqualTo(0);
        await Assert.That(gw.App.Counters.Refused(401) + gw.App.Counters.Refused(503)).IsEqualTo(load.RefusedBatches);
        await AssertIdentityAsync(gw, load);
    }

    [Test]
    public async Task Consul_answering_slower_than_the_wait()
    {
        await using var consul = await ConsulAgent.StartAsync();
        await consul.PutKeyAsync("loader", "slow-key-0123456789abc");
        await using var sink = TcpSink.Start();
        // -consul-sync 1s: a blocking query gives up after 1s + 1/16 s + 10 s of silence.
        await using var gw = await TestGateway.StartAsync(sink, consul: consul.Settings(sync: TimeSpan.FromSeconds(1)));
        await using var load = new SteadyLoad(gw.HttpAddress, () => "slow-key-0123456789abc");

        consul.Pause(); // SIGSTOP: the agent still accepts connections but answers nothing
        long beforeStall = load.AcceptedLines;
        await Poll.UntilAsync(() => gw.Logs.All.Contains("Consul key sync failing: no answer from"), Deadline);
        long duringStall = load.AcceptedLines - beforeStall;
        consul.Resume();
        await Poll.UntilAsync(() => gw.Logs.All.Contains("Consul key sync recovered"), Deadline);
        await load.StopAsync();
        await gw.App.StopAsync();

        await Assert.That(gw.Logs.All).Contains("Consul key sync failing: no answer from");
        await Assert.That(gw.Logs.All).Contains("Consul key sync recovered");
        await Assert.That(duringStall).IsGreaterThan(0);
        // The stall cost no batch its key. (A 503 is a sink slow to read on a busy machine, not the stall's.)
        await Assert.That(gw.App.Counters.Refused(401)).IsEqualTo(0);
        await Assert.That(gw.App.Counters.Refused(503)).IsEqualTo(load.RefusedBatches);
        await AssertIdentityAsync(gw, load);
    }
}
