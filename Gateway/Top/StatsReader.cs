using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;

namespace Polymur.Gateway.Top;

/// <summary>
/// Reads the gateway's /stats for top. It follows no redirect (a 3xx is reported with its Location: -stat-addr
/// names the stats listener itself, and a token must not travel elsewhere), reads at most
/// <see cref="MaxBodyBytes"/> (a longer answer, announced or not, is refused unread past that), and gives the whole
/// answer, headers and body, <see cref="Timeout"/>.
/// </summary>
internal sealed class StatsReader : IDisposable
{
    /// <summary>A gateway's /stats is kilobytes, a few hundred with thousands of tenants or destinations.</summary>
    public const int MaxBodyBytes = 8 << 20;

    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(3);

    private readonly HttpClient _http;
    private readonly Uri _stats;

    public StatsReader(Uri stats, string? token)
    {
        _stats = stats;
        _http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false, UseProxy = false })
        {
            Timeout = System.Threading.Timeout.InfiniteTimeSpan, // the whole answer's deadline is below
        };
        if (token is not null)
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    /// <exception cref="StatsUnreadableException">No usable answer; the message says why.</exception>
    public async Task<StatsSample> ReadAsync(CancellationToken cancel = default)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        deadline.CancelAfter(Timeout);
        try
        {
            using var response = await _http.GetAsync(_stats, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
            int status = (int)response.StatusCode;
            if (status is >= 300 and < 400)
                throw new StatsUnreadableException($"answered {status} {response.ReasonPhrase}, a redirect to {response.Headers.Location?.ToString() ?? "nowhere"}: not followed (-stat-addr is the stats listener itself)");
            if (!response.IsSuccessStatusCode)
                throw new StatsUnreadableException($"answered {status} {response.ReasonPhrase}{(response.StatusCode == HttpStatusCode.Unauthorized ? " (-api-token-file)" : "")}");
            if (response.Content.Headers.ContentLength is long announced && announced > MaxBodyBytes)
                throw new StatsUnreadableException($"answered {announced} bytes, more than the {MaxBodyBytes >> 20} MiB top reads: not read");
            var body = await ReadBodyAsync(response.Content, deadline.Token);
            return StatsSample.Parse(body.GetBuffer().AsSpan(0, (int)body.Length), DateTime.UtcNow);
        }
        catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
        {
            throw new StatsUnreadableException($"no whole answer within {Timeout.TotalSeconds:0} s");
        }
        catch (HttpRequestException e)
        {
            throw new StatsUnreadableException(Describe(e));
        }
    }

    // Up to MaxBodyBytes; one byte more and the answer is refused.
    private static async Task<MemoryStream> ReadBodyAsync(HttpContent content, CancellationToken cancel)
    {
        await using var stream = await content.ReadAsStreamAsync(cancel);
        var body = new MemoryStream((int)Math.Min(content.Headers.ContentLength ?? 64 << 10, MaxBodyBytes));
        byte[] chunk = new byte[64 << 10];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancel)) > 0)
        {
            if (body.Length + read > MaxBodyBytes)
                throw new StatsUnreadableException($"the answer is longer than the {MaxBodyBytes >> 20} MiB top reads: not read further");
            body.Write(chunk, 0, read);
        }
        return body;
    }

    // The runtime's own messages are resource keys in the native binary: say it in words.
    private static string Describe(HttpRequestException e) => e.InnerException switch
    {
        SocketException s => s.SocketErrorCode switch
        {
            SocketError.ConnectionRefused => "connection refused (is the gateway running, with this -stat-addr?)",
            SocketError.HostNotFound or SocketError.NoData => "no such host",
            var code => $"cannot connect ({code})",
        },
        IOException => "the connection closed before a whole answer",
        _ => e.HttpRequestError switch
        {
            HttpRequestError.InvalidResponse or HttpRequestError.ResponseEnded => "not an HTTP answer, or cut short",
            var error => $"request failed ({error})",
        },
    };

    public void Dispose() => _http.Dispose();
}
