using System.Diagnostics;
using System.Text.Json;

namespace Polymur.Gateway.Tests.Support;

/// <summary>Debian's Prometheus, started with its own config scraping one target every second, and its query API.</summary>
public sealed class PrometheusServer : IAsyncDisposable
{
    public const string Binary = "/usr/bin/prometheus";

    private readonly Process _process;
    private readonly string _dir;
    private readonly HttpClient _http;

    private PrometheusServer(Process process, string dir, int port)
    {
        _process = process;
        _dir = dir;
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
    }

    public static async Task<PrometheusServer> StartAsync(string target)
    {
        if (!File.Exists(Binary))
            throw new FileNotFoundException($"no Prometheus at {Binary}: apt-get install prometheus (make test-deps does)");
        string dir = Directory.CreateTempSubdirectory("pgw-prometheus-").FullName;
        string config = Path.Combine(dir, "prometheus.yml");
        await File.WriteAllTextAsync(config, $"""
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            scrape_configs:
              - job_name: polymur-gateway
                static_configs:
                  - targets: ['{target}']
            """);
        int port = Posix.FreePort();
        var info = new ProcessStartInfo(Binary) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { $"--config.file={config}", $"--storage.tsdb.path={Path.Combine(dir, "data")}", $"--web.listen-address=127.0.0.1:{port}" })
            info.ArgumentList.Add(arg);
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new PrometheusServer(process, dir, port);
        if (!await Poll.UntilAsync(async () => (await server.TryGetAsync("/-/ready")) is not null, TimeSpan.FromSeconds(20)))
            throw new TimeoutException("Prometheus did not become ready within 20 s");
        return server;
    }

    private async Task<string?> TryGetAsync(string path)
    {
        try
        {
            using var response = await _http.GetAsync(path);
            return response.IsSuccessStatusCode ? await response.Content.ReadAsStringAsync() : null;
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    /// <summary>An instant query: the API's status and error, and how many series came back.</summary>
    public async Task<(string Status, string? Error, int Series)> QueryAsync(string expression)
    {
        using var response = await _http.GetAsync("/api/v1/query?query=" + Uri.EscapeDataString(expression));
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = json.RootElement;
        string status = root.GetProperty("status").GetString()!;
        return status == "success"
            ? (status, null, root.GetProperty("data").GetProperty("result").GetArrayLength())
            : (status, root.GetProperty("error").GetString(), 0);
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
