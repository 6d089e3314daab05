using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Polymur.Gateway.Tests.Support;

/// <summary>
/// A real carbon-cache (Debian's graphite-carbon, installed by make test-deps) on 127.0.0.1 with free ports and
/// its own storage directory, started and stopped by the test. Whisper files are read back with whisper-fetch.
/// </summary>
public sealed class CarbonCache : IAsyncDisposable
{
    private readonly string _root;
    private readonly StringBuilder _log = new();
    private Process _process = null!;

    private CarbonCache(string root, int linePort)
    {
        _root = root;
        LinePort = linePort;
    }

    public const string Binary = "/usr/bin/carbon-cache";

    public int LinePort { get; }

    public string WhisperDir => Path.Combine(_root, "storage", "whisper");

    /// <summary>What carbon-cache printed (its listener log shows dropped connections).</summary>
    public string Log
    {
        get
        {
            lock (_log)
                return _log.ToString();
        }
    }

    public static async Task<CarbonCache> StartAsync()
    {
        if (!File.Exists(Binary))
            throw new FileNotFoundException($"no carbon-cache at {Binary}: apt-get install graphite-carbon (make test-deps does)");
        string root = Directory.CreateTempSubdirectory("pgw-carbon-").FullName;
        int[] ports = Posix.FreePorts(3);
        Directory.CreateDirectory(Path.Combine(root, "conf"));
        await File.WriteAllTextAsync(Path.Combine(root, "conf", "carbon.conf"), $"""
            [cache]
            STORAGE_DIR = {root}/storage/
            LOCAL_DATA_DIR = {root}/storage/whisper/
            CONF_DIR = {root}/conf/
            LOG_DIR = {root}/log/
            PID_DIR = {root}/
            DATABASE = whisper
            ENABLE_TAGS = False
            MAX_CACHE_SIZE = inf
            MAX_UPDATES_PER_SECOND = inf
            MAX_CREATES_PER_MINUTE = inf
            WHISPER_FALLOCATE_CREATE = False
            LINE_RECEIVER_INTERFACE = 127.0.0.1
            LINE_RECEIVER_PORT = {ports[0]}
            ENABLE_UDP_LISTENER = False
            PICKLE_RECEIVER_INTERFACE = 127.0.0.1
            PICKLE_RECEIVER_PORT = {ports[1]}
            CACHE_QUERY_INTERFACE = 127.0.0.1
            CACHE_QUERY_PORT = {ports[2]}
            """);
        // One point a second for ten minutes: small files, and the test's "now" timestamps fall inside.
        await File.WriteAllTextAsync(Path.Combine(root, "conf", "storage-schemas.conf"), "[default]\npattern = .*\nretentions = 1s:10m\n");
        var carbon = new CarbonCache(root, ports[0]);
        await carbon.LaunchAsync();
        return carbon;
    }

    /// <summary>Stops carbon-cache as its init script does (SIGTERM: it writes its cache out), then starts it again on the same port and files.</summary>
    public async Task StopAsync()
    {
        Posix.Signal(_process.Id, Posix.SIGTERM);
        await _process.WaitForExitAsync();
        File.Delete(Path.Combine(_root, "carbon-cache-a.pid"));
    }

    public Task StartAgainAsync() => LaunchAsync();

    private async Task LaunchAsync()
    {
        var info = new ProcessStartInfo(Binary) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in new[] { $"--config={_root}/conf/carbon.conf", "--nodaemon", "start" })
            info.ArgumentList.Add(arg);
        var process = Process.Start(info)!;
        _process = process;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
                throw new InvalidOperationException($"carbon-cache exited at start: {Log}");
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync("127.0.0.1", LinePort);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }
        throw new TimeoutException("carbon-cache did not listen within 20 s");
    }

    /// <summary>The metric names that have a whisper file (carbon's dots are directories).</summary>
    public IReadOnlySet<string> Metrics()
    {
        if (!Directory.Exists(WhisperDir))
            return new HashSet<string>();
        return Directory.EnumerateFiles(WhisperDir, "*.wsp", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(WhisperDir, f)[..^4].Replace('/', '.'))
            .ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>Waits until every name has a whisper file (carbon writes asynchronously), or the time is up.</summary>
    public async Task<IReadOnlySet<string>> WaitForMetricsAsync(IReadOnlyCollection<string> names, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var present = Metrics();
            if (names.All(present.Contains) || DateTime.UtcNow > deadline)
                return present;
            await Task.Delay(200);
        }
    }

    /// <summary>The stored (timestamp, value) points of one metric, through whisper-fetch.</summary>
    public async Task<IReadOnlyList<(long Time, double Value)>> FetchAsync(string metric, long? from = null)
    {
        var info = new ProcessStartInfo("whisper-fetch") { RedirectStandardOutput = true };
        info.ArgumentList.Add($"--from={from ?? DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 590}");
        info.ArgumentList.Add(Path.Combine(WhisperDir, metric.Replace('.', '/') + ".wsp"));
        using var fetch = Process.Start(info)!;
        string output = await fetch.StandardOutput.ReadToEndAsync();
        await fetch.WaitForExitAsync();
        return [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split('\t'))
            .Where(f => f.Length == 2 && f[1] != "None")
            .Select(f => (long.Parse(f[0]), double.Parse(f[1], System.Globalization.CultureInfo.InvariantCulture)))];
    }

    /// <summary>
    /// The timestamps stored for one metric in its first archive, read from the whisper file directly (header,
    /// archive table, then 12-byte big-endian points), for tests that check thousands of series; empty if none yet.
    /// </summary>
    public IReadOnlyList<long> StoredTimes(string metric)
    {
        string path = Path.Combine(WhisperDir, metric.Replace('.', '/') + ".wsp");
        byte[] file;
        try
        {
            file = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return [];
        }
        if (file.Length < 28)
            return [];
        int offset = (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(16));
        int points = (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(24));
        var times = new List<long>();
        for (int i = 0; i < points && offset + 12 * (i + 1) <= file.Length; i++)
        {
            long time = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(offset + 12 * i));
            if (time != 0)
                times.Add(time);
        }
        return times;
    }

    private void Append(string? line)
    {
        if (line is null)
            return;
        lock (_log)
            _log.AppendLine(line);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
