using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace Polymur.Gateway.Tests.Support;

/// <summary>
/// Sends what a real polymur-proxy sends: POST, X-polymur-key, User-Agent Go-http-client/1.1,
/// Accept-Encoding gzip, a Content-Length, no Content-Type, no Content-Encoding, and a gzip body.
/// </summary>
public sealed class ProxyClient : IDisposable
{
    /// <summary>What Go's gzip.Writer emits for an empty batch: header, an empty final stored block, a zero trailer (23 bytes).</summary>
    public static readonly byte[] GoEmptyMember =
        [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0];

    private readonly HttpClient _http;

    public ProxyClient(string baseAddress, HttpMessageHandler? handler = null)
    {
        _http = new HttpClient(handler ?? new SocketsHttpHandler { AutomaticDecompression = DecompressionMethods.None })
        {
            BaseAddress = new Uri(baseAddress),
            Timeout = TimeSpan.FromSeconds(60),
        };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("Go-http-client/1.1");
        _http.DefaultRequestHeaders.AcceptEncoding.Add(new StringWithQualityHeaderValue("gzip"));
    }

    public HttpClient Http => _http;

    public Version Version { get; init; } = HttpVersion.Version11;

    public static byte[] Gzip(string text) => Gzip(Encoding.UTF8.GetBytes(text));

    public static byte[] Gzip(byte[] data)
    {
        var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true))
            gzip.Write(data);
        return data.Length == 0 ? GoEmptyMember : output.ToArray();
    }

    /// <summary>Graphite lines <c>prefix.N value timestamp</c>, LF-terminated, about 58 bytes each as the bench uses.</summary>
    public static string Lines(string prefix, int count, int start = 0)
    {
        var sb = new StringBuilder();
        for (int i = start; i < start + count; i++)
            sb.Append(prefix).Append('.').Append(i).Append(" 123.456 1700000000\n");
        return sb.ToString();
    }

    public Task<Reply> PingAsync(string? key) => SendAsync("/ping", key, []);

    public Task<Reply> IngestAsync(string? key, string lines) => SendAsync("/ingest", key, Gzip(lines));

    public async Task<Reply> SendAsync(string path, string? key, byte[] body, Action<HttpRequestMessage>? customize = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new ByteArrayContent(body),
            Version = Version,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        if (key is not null)
            request.Headers.TryAddWithoutValidation("X-polymur-key", key);
        customize?.Invoke(request);
        using var response = await _http.SendAsync(request);
        return new Reply((int)response.StatusCode, await response.Content.ReadAsStringAsync(), response.Version, response.Headers.ConnectionClose == true,
            response.Headers.TryGetValues("Retry-After", out var retry) ? retry.First() : null);
    }

    public void Dispose() => _http.Dispose();
}

public sealed record Reply(int Status, string Body, Version Version, bool ConnectionClose, string? RetryAfter = null);
