using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Top;

/// <summary>
/// <c>top --once</c> (the published binary) against a /stats that is odd: empty, partial, of the wrong types, not
/// JSON, a redirect, huge, or slow. It never aborts: it shows the sections it can read and names the others, or
/// says in one line why it can use nothing (exit 1). Before, <c>{}</c> or a partial object aborted with a stack
/// trace, a redirect was followed, and a 1 GiB body was buffered whole.
/// </summary>
public class OddStatsTests
{
    private static string Binary => GatewayProcess.NativeBinary;

    private static async Task<(int Code, string Stdout, string Stderr)> TopAsync(OddStatsServer server)
    {
        await Assert.That(File.Exists(Binary)).IsTrue().Because("make publish first");
        return await GatewayProcess.RunAsync(Binary, ["top", "--once", "-stat-addr", server.Address]);
    }

    // A real gateway's /stats, to take sections out of or spoil.
    private static async Task<JsonObject> RealStatsAsync()
    {
        await using var sink = TcpSink.Start();
        await using var gw = await TestGateway.StartAsync(sink);
        using var stats = gw.StatsClient();
        return JsonNode.Parse(await stats.GetStringAsync("/stats"))!.AsObject();
    }

    private static async Task AssertNoCrashAsync(int code, string stderr, int expected)
    {
        await Assert.That(code).IsEqualTo(expected).Because(stderr);
        await Assert.That(stderr).DoesNotContain("   at ");
        await Assert.That(stderr).DoesNotContain("Unhandled exception");
    }

    [Test]
    [Arguments("{}")]
    [Arguments("{\"points\": null, \"runtime\": null, \"destinations\": null, \"tenants\": null}")]
    public async Task An_answer_with_no_section_says_what_is_missing_in_one_line(string body)
    {
        await using var server = await OddStatsServer.StartAsync(OddStatsServer.Json(body));

        var (code, stdout, stderr) = await TopAsync(server);

        await AssertNoCrashAsync(code, stderr, 1);
        await Assert.That(stdout).IsEmpty();
        await Assert.That(stderr).StartsWith($"polymur-gateway top: http://{server.Address}/stats: none of the sections top shows is there (uptime_seconds, ingest, points,");
        await Assert.That(stderr.TrimEnd('\n')).DoesNotContain("\n");
    }

    [Test]
    [Arguments("garbage", "the answer is not a JSON object")]
    [Arguments("null", "the answer is null, not a JSON object")]
    [Arguments("array", "the answer is not a JSON object")]
    [Arguments("deep", "the answer is not a JSON object")]
    public async Task An_answer_that_is_not_a_json_object_is_one_line_and_exit_1(string kind, string says)
    {
        string body = kind switch
        {
            "garbage" => "\0\u00ffnot json at all{{{",
            "null" => "null",
            "array" => "[1, 2]",
            _ => new string('[', 100_000) + new string(']', 100_000),
        };
        await using var server = await OddStatsServer.StartAsync(OddStatsServer.Json(body));

        var (code, stdout, stderr) = await TopAsync(server);

        await AssertNoCrashAsync(code, stderr, 1);
        await Assert.That(stdout).IsEmpty();
        await Assert.That(stderr).Contains(says);
    }

    [Test]
    public async Task A_partial_answer_shows_its_sections_and_names_the_missing_ones()
    {
        var stats = await RealStatsAsync();
        stats.Remove("points");
        stats.Remove("runtime");
        stats.Remove("tenants");
        await using var server = await OddStatsServer.StartAsync(OddStatsServer.Json(stats.ToJsonString()));

        var (code, stdout, stderr) = await TopAsync(server);

        await AssertNoCrashAsync(code, stderr, 0);
        await Assert.That(stdout).Contains("missing from /stats: points, runtime, tenants\n");
        await Assert.That(stdout).Contains("points/s");
        await Assert.That(stdout).Contains("DESTINATION");
        await Assert.That(stdout).Contains("\nout      ?\n");
    }

    [Test]
    public async Task Sections_of_the_wrong_type_are_named_and_the_rest_shown()
    {
        var stats = await RealStatsAsync();
        string destination = stats["destinations"]![0]!["name"]!.GetValue<string>();
        stats["points"] = "lots";
        stats["runtime"] = new JsonArray(1, 2);
        stats["keys"] = new JsonObject { ["a"] = 1 };
        stats["tenants"] = new JsonArray(JsonValue.Create(1), null);
        stats["uptime_seconds"] = -1e308;
        await using var server = await OddStatsServer.StartAsync(OddStatsServer.Json(stats.ToJsonString()));

        var (code, stdout, stderr) = await TopAsync(server);

        await AssertNoCrashAsync(code, stderr, 0);
        await Assert.That(stdout).Contains("missing from /stats: points (not of its shape), keys (not of its shape), runtime (not of its shape),\n                     tenants (not of its shape)\n");
        await Assert.That(stdout).Contains(" up 0m00s ");
        await Assert.That(stdout).Contains(destination);
    }

    [Test]
    public async Task A_redirect_is_not_followed()
    {
        await using var elsewhere = await OddStatsServer.StartAsync(OddStatsServer.Json("{}"));
        string target = $"http://{elsewhere.Address}/elsewhere";
        await using var server = await OddStatsServer.StartAsync(context =>
        {
            context.Response.StatusCode = 302;
            context.Response.Headers.Location = target;
            return Task.CompletedTask;
        });

        var (code, stdout, stderr) = await TopAsync(server);

        await AssertNoCrashAsync(code, stderr, 1);
        await Assert.That(stderr).Contains($"answered 302 Found, a redirect to {target}: not followed");
        await Assert.That(elsewhere.Requests).IsEqualTo(0);
        await Assert.That(stdout).IsEmpty();
    }

    [Test]
    [Arguments(true, "answered 1073741824 bytes, more than the 8 MiB top reads: not read")]
    [Arguments(false, "the answer is longer than the 8 MiB top reads: not read further")]
    public async Task A_huge_answer_is_read_no_further_than_8_MiB(bool announced, string says)
    {
        // A raw socket server, so what it sent is what the kernel took from it: what top read plus the sockets'
        // buffers. (Kestrel's writes after a close complete at once and would count as sent.)
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        long sent = 0;
        var serving = Task.Run(async () =>
        {
            using var client = await listener.AcceptSocketAsync();
            var request = new byte[4096];
            await client.ReceiveAsync(request);
            string length = announced ? "Content-Length: 1073741824" : "Transfer-Encoding: chunked";
            await client.SendAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{length}\r\n\r\n"));
            byte[] spaces = Encoding.ASCII.GetBytes(new string(' ', 1 << 20));
            byte[] chunk = [.. Encoding.ASCII.GetBytes($"{spaces.Length:x}\r\n"), .. spaces, .. "\r\n"u8.ToArray()];
            try
            {
                while (sent < 1L << 30)
                    sent += await client.SendAsync(announced ? spaces : chunk);
            }
            catch (System.Net.Sockets.SocketException)
            {
                // top hung up.
            }
        });

        var (code, stdout, stderr) = await GatewayProcess.RunAsync(Binary, ["top", "--once", "-stat-addr", $"127.0.0.1:{((System.Net.IPEndPoint)listener.LocalEndpoint).Port}"]);

        await AssertNoCrashAsync(code, stderr, 1);
        await Assert.That(stderr).Contains(says);
        await Assert.That(stdout).IsEmpty();
        await Assert.That(await Poll.FinishesAsync(serving, TimeSpan.FromSeconds(30))).IsTrue();
        Console.WriteLine($"the server sent {Interlocked.Read(ref sent)} bytes before top hung up");
        await Assert.That(Interlocked.Read(ref sent)).IsLessThan(64L << 20);
    }

    [Test]
    public async Task A_slow_answer_is_given_up_after_3_s()
    {
        await using var server = await OddStatsServer.StartAsync(async context =>
        {
            context.Response.ContentType = "application/json";
            context.Response.ContentLength = 1000;
            try
            {
                for (int i = 0; i < 60; i++)
                {
                    await context.Response.Body.WriteAsync(" "u8.ToArray(), context.RequestAborted);
                    await context.Response.Body.FlushAsync(context.RequestAborted);
                    await Task.Delay(500, context.RequestAborted);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or ConnectionAbortedException)
            {
            }
        });

        var (code, stdout, stderr) = await TopAsync(server);

        await AssertNoCrashAsync(code, stderr, 1);
        await Assert.That(stderr).Contains("no whole answer within 3 s");
    }
}
