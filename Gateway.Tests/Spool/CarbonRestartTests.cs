using Polymur.Gateway.Configuration;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Spool;

/// <summary>
/// A real carbon-cache behind the gateway, restarted while 100 series send a point every second: with the spool,
/// whisper has every second of every series. (Without it, a queue of 100 points drops most of the outage.)
/// </summary>
[NotInParallel("carbon-cache")]
[Category("faults")]
public class CarbonRestartTests
{
    [Test]
    [Timeout(120_000)]
    public async Task A_carbon_cache_restart_under_load_leaves_no_missing_second(CancellationToken cancel)
    {
        await using var carbon = await CarbonCache.StartAsync();
        await using var gw = await TestGateway.StartAsync([], o => o with
        {
            Destinations = [new DestinationAddress("127.0.0.1", carbon.LinePort, null)],
            OutgoingQueueCap = 100,
            SpoolDir = Directory.CreateTempSubdirectory("pgw-carbonrestart-").FullName,
        });
        using var client = gw.Client();
        string run = $"r{Guid.NewGuid():N}"[..9];
        var series = Enumerable.Range(0, 100).Select(i => $"restart.{run}.s{i}").ToList();

        // Start on a whole second, and send each second's points half a second in.
        await Task.Delay(1000 - DateTime.UtcNow.Millisecond + 500);
        long first = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        long last = first;
        Task restarted = Task.CompletedTask;
        for (int tick = 0; tick < 16; tick++)
        {
            long second = first + tick;
            await client.IngestAsync("123", string.Concat(series.Select(s => $"{s} {tick} {second}\n")));
            last = second;
            if (tick == 5)
            {
                // Between two sends, as an operator's restart would be: carbon has read what it was sent. (A
                // batch still in carbon's socket when it dies is lost: TCP cannot tell; see README, Writers.)
                await Task.Delay(400);
                await carbon.StopAsync();
                await Task.Delay(2500);
                restarted = carbon.StartAgainAsync();
            }
            long next = (first + tick + 1) * 1000 + 500;
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Max(0, next - DateTimeOffset.UtcNow.ToUnixTimeMilliseconds())));
        }
        await restarted;
        var destination = gw.App.Destinations.Current[0];
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((destination.Counters.SpoolPending > 0 || destination.Counters.Queued > 0) && DateTime.UtcNow < deadline)
            await Task.Delay(100);
        await carbon.WaitForMetricsAsync(series, TimeSpan.FromSeconds(30));
        await Task.Delay(3000); // carbon writes its cache out asynchronously

        var missing = new List<string>();
        foreach (string s in series)
        {
            var seconds = (await carbon.FetchAsync(s, first - 1)).Select(p => p.Time).ToHashSet();
            missing.AddRange(Enumerable.Range(0, (int)(last - first + 1)).Where(t => !seconds.Contains(first + t)).Select(t => $"{s}@{t}"));
        }
        Console.WriteLine($"carbon restart: {series.Count} series x {last - first + 1} s; spooled {destination.Counters.Spooled} points; missing {missing.Count}");
        await Assert.That(destination.Counters.Spooled).IsGreaterThan(0);
        await Assert.That(missing).IsEmpty();
    }
}
