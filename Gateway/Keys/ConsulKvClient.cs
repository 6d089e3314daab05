using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;

namespace Polymur.Gateway.Keys;

/// <summary>The outcome of a KV read: entries (an empty list is Consul's 404), or why it failed.</summary>
public sealed record KvResult(HttpStatusCode Status, KvEntry[] Entries, ulong Index, string? Error)
{
    public bool Ok => Error is null;

    public bool NotFound => Status == HttpStatusCode.NotFound;
}

/// <summary>A failed write or a Consul that cannot be reached, for the key tool.</summary>
public sealed class ConsulException(string message) : Exception(message);

/// <summary>
/// Consul's KV HTTP API over a plain HttpClient: list (with blocking queries), get, put (with check-and-set)
/// and delete. The token goes in X-Consul-Token. No Consul library, no reflection.
/// </summary>
public sealed class ConsulKvClient : IDisposable
{
    private readonly HttpClient _http;

    public ConsulKvClient(ConsulSettings settings)
    {
        Settings = settings;
        _http = new HttpClient(CreateHandler(settings)) { BaseAddress = settings.Address, Timeout = Timeout.InfiniteTimeSpan };
        if (settings.Token is not null)
            _http.DefaultRequestHeaders.Add("X-Consul-Token", settings.Token);
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("polymur-gateway", "1"));
    }

    public ConsulSettings Settings { get; }

    /// <summary>
    /// Lists every entry under <paramref name="prefix"/>. With an index, this is a blocking query: Consul answers
    /// when something changes or after <paramref name="wait"/> (plus up to wait/16 of jitter).
    /// </summary>
    public async Task<KvResult> ListAsync(string prefix, ulong index, TimeSpan wait, CancellationToken cancel)
    {
        string url = $"v1/kv/{EscapePath(prefix)}?recurse";
        if (index > 0)
            url += $"&index={index}&wait={(long)wait.TotalSeconds}s";
        // Consul may hold the request for wait + wait/16; allow that and a margin before giving up.
        var timeout = index > 0 ? wait + wait / 16 + TimeSpan.FromSeconds(10) : TimeSpan.FromSeconds(10);
        return await ReadAsync(url, timeout, cancel);
    }

    /// <summary>Reads one key; NotFound when it does not exist, 403 when the token may not read it.</summary>
    public Task<KvResult> GetAsync(string key, CancellationToken cancel) =>
        ReadAsync($"v1/kv/{EscapePath(key)}", TimeSpan.FromSeconds(10), cancel);

    /// <summary>Writes a value. With <paramref name="cas"/>, only if the key's ModifyIndex is still that (0: only if absent).</summary>
    public Task<bool> PutAsync(string key, string value, ulong? cas, CancellationToken cancel) =>
        WriteAsync(HttpMethod.Put, $"v1/kv/{EscapePath(key)}{(cas is { } c ? $"?cas={c}" : "")}", new StringContent(value, Encoding.UTF8), cancel);

    public Task<bool> DeleteAsync(string key, ulong? cas, CancellationToken cancel) =>
        WriteAsync(HttpMethod.Delete, $"v1/kv/{EscapePath(key)}{(cas is { } c ? $"?cas={c}" : "")}", null, cancel);

    private async Task<KvResult> ReadAsync(string url, TimeSpan timeout, CancellationToken cancel)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        limit.CancelAfter(timeout);
        try
        {
            using var response = await _http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, limit.Token);
            ulong index = response.Headers.TryGetValues("X-Consul-Index", out var values)
                && ulong.TryParse(values.FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out ulong i) ? i : 0;
            if (response.StatusCode == HttpStatusCode.NotFound)
                return new KvResult(response.StatusCode, [], index, null);
            if (!response.IsSuccessStatusCode)
                return new KvResult(response.StatusCode, [], index, await DescribeAsync(response, limit.Token));
            await using var body = await response.Content.ReadAsStreamAsync(limit.Token);
            var entries = await JsonSerializer.DeserializeAsync(body, ConsulJsonContext.Default.KvEntryArray, limit.Token) ?? [];
            return new KvResult(response.StatusCode, entries, index, null);
        }
        catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
        {
            return new KvResult(0, [], 0, $"no answer from {Settings.Address} within {timeout.TotalSeconds:0}s");
        }
        catch (HttpRequestException e)
        {
            return new KvResult(0, [], 0, $"cannot reach {Settings.Address}: {e.Message}");
        }
        catch (JsonException e)
        {
            return new KvResult(0, [], 0, $"unexpected answer from {Settings.Address}: {e.Message}");
        }
    }

    private async Task<bool> WriteAsync(HttpMethod method, string url, HttpContent? content, CancellationToken cancel)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        limit.CancelAfter(TimeSpan.FromSeconds(10));
        try
        {
            using var request = new HttpRequestMessage(method, url) { Content = content };
            using var response = await _http.SendAsync(request, limit.Token);
            if (!response.IsSuccessStatusCode)
                throw new ConsulException(await DescribeAsync(response, limit.Token));
            // Consul answers a write with "true" or "false" (a check-and-set that did not apply).
            return (await response.Content.ReadAsStringAsync(limit.Token)).Trim() == "true";
        }
        catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
        {
            throw new ConsulException($"no answer from {Settings.Address} within 10s");
        }
        catch (HttpRequestException e)
        {
            throw new ConsulException($"cannot reach {Settings.Address}: {e.Message}");
        }
    }

    private static async Task<string> DescribeAsync(HttpResponseMessage response, CancellationToken cancel)
    {
        string body = (await response.Content.ReadAsStringAsync(cancel)).Trim();
        if (body.Length > 200)
            body = body[..200];
        return $"Consul answered {(int)response.StatusCode} {response.StatusCode}{(body.Length > 0 ? ": " + body : "")}";
    }

    public void Dispose() => _http.Dispose();

    private static string EscapePath(string path) =>
        string.Join('/', path.Split('/').Select(Uri.EscapeDataString));

    private static SocketsHttpHandler CreateHandler(ConsulSettings settings)
    {
        var handler = new SocketsHttpHandler { PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2), ConnectTimeout = TimeSpan.FromSeconds(5) };
        if (settings.ClientCertPath is not null)
            handler.SslOptions.ClientCertificates = [X509Certificate2.CreateFromPemFile(settings.ClientCertPath, settings.ClientKeyPath)];
        if (!settings.VerifyTls)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = static (_, _, _, _) => true;
        }
        else if (settings.CaCertPath is not null)
        {
            var roots = new X509Certificate2Collection();
            roots.ImportFromPemFile(settings.CaCertPath);
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            {
                if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
                    return false;
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.AddRange(roots);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(new X509Certificate2(certificate));
            };
        }
        return handler;
    }
}
