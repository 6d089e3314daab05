using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Hosting.Logging;

/// <summary>-log-format text|json|journal, read off the published binary's stderr as an operator would.</summary>
public partial class LogFormatTests
{
    [GeneratedRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (info|warn|fail|dbug|trce|crit)  [A-Za-z]+\[\d{1,3}\] \S")]
    private static partial Regex TextLine();

    [GeneratedRegex(@"^<[2-7]>[A-Za-z]+\[\d{1,3}\] \S")]
    private static partial Regex JournalLine();

    private static async Task<string[]> RunAsync(string format)
    {
        await using var sink = TcpSink.Start();
        await using var gw = GatewayProcess.Start(GatewayProcess.NativeBinary, ["-log-format", format], new Dictionary<string, string>
        {
            ["POLYMUR_GW_DEV_MODE"] = "true",
            ["POLYMUR_GW_LISTEN_ADDR"] = "127.0.0.1",
            ["POLYMUR_GW_LISTEN_HTTP_PORT"] = "0",
            ["POLYMUR_GW_API_ADDR"] = "127.0.0.1:0",
            ["POLYMUR_GW_STAT_ADDR"] = "127.0.0.1:0",
            ["POLYMUR_GW_DESTINATIONS"] = sink.Address,
        });
        await gw.WaitForHttpAsync();
        await gw.WaitForLogAsync("started", TimeSpan.FromSeconds(30));
        gw.Signal(GatewayProcess.SIGTERM);
        await Assert.That(await gw.WaitForExitAsync(TimeSpan.FromSeconds(20))).IsEqualTo(0);
        return gw.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    [Test]
    public async Task Text_lines_have_a_time_a_level_the_class_and_a_small_event_id()
    {
        var lines = await RunAsync("text");

        await Assert.That(lines.Length).IsGreaterThan(4);
        foreach (var line in lines)
            await Assert.That(TextLine().IsMatch(line)).IsTrue().Because(line);
        await Assert.That(lines.Any(l => l.Contains("GatewayApp[106] polymur-gateway started: 1 destinations, distribution broadcast, -key-prefix off"))).IsTrue();
        await Assert.That(lines.Any(l => l.Contains(" Stopped: "))).IsTrue();
    }

    [Test]
    public async Task Json_lines_are_one_object_each_with_the_event_id_and_message()
    {
        var lines = await RunAsync("json");

        await Assert.That(lines.Length).IsGreaterThan(4);
        foreach (var line in lines)
        {
            using var json = JsonDocument.Parse(line);
            var root = json.RootElement;
            await Assert.That(root.GetProperty("EventId").GetInt32()).IsBetween(1, 999).Because(line);
            await Assert.That(root.GetProperty("LogLevel").GetString()).IsNotNull();
            await Assert.That(root.GetProperty("Timestamp").GetString()!).EndsWith("Z");
        }
        await Assert.That(lines.Any(l => l.Contains("\"Message\":\"Listening for ingest on http://127.0.0.1:"))).IsTrue();
    }

    [Test]
    public async Task Journal_lines_start_with_the_syslog_priority()
    {
        var lines = await RunAsync("journal");

        foreach (var line in lines)
            await Assert.That(JournalLine().IsMatch(line)).IsTrue().Because(line);
        await Assert.That(lines.Any(l => l.StartsWith("<4>GatewayApp[", StringComparison.Ordinal) && l.Contains("Dev mode"))).IsTrue();
    }

    [Test]
    public async Task Every_log_event_has_its_own_small_id()
    {
        var ids = typeof(Polymur.Gateway.Hosting.GatewayApp).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Instance | BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public | BindingFlags.DeclaredOnly))
            .Select(m => (Method: $"{m.DeclaringType!.Name}.{m.Name}", Attribute: m.GetCustomAttribute<LoggerMessageAttribute>()))
            .Where(x => x.Attribute is not null)
            .ToArray();

        await Assert.That(ids.Length).IsGreaterThan(50);
        foreach (var (method, attribute) in ids)
            await Assert.That(attribute!.EventId).IsBetween(1, 999).Because(method);
        var repeated = ids.GroupBy(x => x.Attribute!.EventId).Where(g => g.Count() > 1).Select(g => $"{g.Key}: {string.Join(", ", g.Select(x => x.Method))}");
        await Assert.That(repeated).IsEmpty();
    }
}
