using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Lifecycle;

/// <summary>The published NativeAOT file (`make publish`), run as operators run it.</summary>
public class NativeBinaryTests
{
    [Test]
    public async Task Published_binary_answers_ping_delivers_and_drains_on_sigterm()
    {
        string binary = GatewayProcess.NativeBinary;
        await Assert.That(File.Exists(binary)).IsTrue().Because($"run `make publish` first: {binary} is missing");
        await using var sink = TcpSink.Start();
        await using var gw = GatewayProcess.Start(binary, [], new Dictionary<string, string>
        {
            ["POLYMUR_GW_DEV_MODE"] = "true",
            ["POLYMUR_GW_LISTEN_ADDR"] = "127.0.0.1",
            ["POLYMUR_GW_LISTEN_HTTP_PORT"] = "0",
            ["POLYMUR_GW_DESTINATIONS"] = sink.Address,
        });
        using var client = new ProxyClient(await gw.WaitForHttpAsync());

        var ping = await client.PingAsync("123");
        var ingest = await client.SendAsync("/ingest", "123", [.. ProxyClient.Gzip(ProxyClient.Lines("native", 5000)), .. ProxyClient.GoEmptyMember]);
        gw.Signal(GatewayProcess.SIGTERM);
        int code = await gw.WaitForExitAsync(TimeSpan.FromSeconds(20));

        await Assert.That(ping.Status).IsEqualTo(200);
        await Assert.That(ping.Body).IsEqualTo("key is valid\n");
        await Assert.That(ingest.Status).IsEqualTo(200);
        await Assert.That(code).IsEqualTo(0);
        // It has exited: once the sink has read to the end of its connections, it has everything there is.
        await Assert.That(await sink.WaitForEndAsync(5000, TimeSpan.FromSeconds(30))).IsNotNull();
        await Assert.That(sink.Count).IsEqualTo(5000);
    }

    [Test]
    public async Task Published_binary_refuses_bad_config_with_exit_2()
    {
        var (code, _, stderr) = await GatewayProcess.RunAsync(GatewayProcess.NativeBinary, ["-destinations", "10.0.0.1:notaport"]);

        await Assert.That(code).IsEqualTo(2);
        await Assert.That(stderr).Contains("POLYMUR_GW_DESTINATIONS");
    }
}
