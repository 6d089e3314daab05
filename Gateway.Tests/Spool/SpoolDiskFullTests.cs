using System.Diagnostics;
using Polymur.Gateway.Configuration;
using Polymur.Gateway.Outputs;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Spool;

/// <summary>A spool on a disk that fills up (a 256 KiB tmpfs; CI runs as root): refused with 503, logged once, and serving goes on.</summary>
[NotInParallel("tmpfs")]
public class SpoolDiskFullTests
{
    private static void Run(string program, params string[] args)
    {
        using var process = Process.Start(program, args);
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} exited {process.ExitCode} (the test needs root to mount a tmpfs)");
    }

    [Test]
    public async Task A_full_disk_stops_spooling_for_that_destination_counts_it_and_the_gateway_keeps_serving()
    {
        string mount = Directory.CreateTempSubdirectory("pgw-tmpfs-").FullName;
        Run("mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", mount);
        try
        {
            int port = Posix.FreePort(); // nothing listens there: the destination is down
            await using var gw = await TestGateway.StartAsync([], o => o with
            {
                Destinations = [new DestinationAddress("127.0.0.1", port, null)],
                OutgoingQueueCap = 100,
                SpoolDir = mount,
            });
            using var client = gw.Client();
            var destination = gw.App.Destinations.Current[0];
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (!destination.Down && DateTime.UtcNow < deadline)
                await Task.Delay(20);

            // Random values compress poorly: the 256 KiB fill up within a few batches.
            // What the disk cannot take is refused with 503, never answered 200 and dropped.
            var random = new Random(5);
            int refused = 0;
            for (int i = 0; i < 40; i++)
            {
                string lines = string.Concat(Enumerable.Range(0, 2000).Select(j => $"full.b{i}.m{j} {random.NextDouble()} {1700000000 + random.Next(1000)}\n"));
                refused += (await client.IngestAsync("123", lines)).Status == 503 ? 1 : 0;
            }
            var ping = await client.PingAsync("123");
            long spooled = destination.Counters.SpoolPending;

            await Assert.That(ping.Status).IsEqualTo(200);
            await Assert.That(spooled).IsGreaterThan(0);
            await Assert.That(refused).IsGreaterThan(0);
            await Assert.That(destination.Counters.DroppedTotal).IsEqualTo(0);
            await Assert.That(gw.Logs.Lines.Count(l => l.Contains("cannot be written"))).IsEqualTo(1);
            await Assert.That(destination.Counters.Routed).IsEqualTo(destination.Counters.Delivered + destination.Counters.DroppedTotal + destination.Counters.Queued + destination.Counters.SpoolPending);

            // What did fit on the disk is still delivered once the destination is back.
            await using var sink = TcpSink.Start(port);
            deadline = DateTime.UtcNow.AddSeconds(30);
            while (destination.Counters.SpoolPending > 0 && DateTime.UtcNow < deadline)
                await Task.Delay(50);
            await Assert.That(destination.Counters.SpoolPending).IsEqualTo(0);
            await Assert.That((long)(await sink.SettleAsync()).Count).IsGreaterThanOrEqualTo(spooled);
        }
        finally
        {
            Run("umount", "-l", mount);
        }
    }
}
