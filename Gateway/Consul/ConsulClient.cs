using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Polymur.Gateway.Consul;

/// <summary>The outcome of a read: entries (an empty list is Consul's 404), the X-Consul-Index, or why it failed.</summary>
public sealed record ConsulResult<T>(HttpStatusCode Status, T[] Entries, ulong Index, string? Error)
{
    public bool Ok => Error is null;

    public bool NotFound => Status == HttpStatusCode.NotFound;
}

/// <summary>A failed write or a Consul that cannot be reached, for the key tool.</summary>
public sealed class ConsulException(string message) : Exception(message);

/// <summary>
/// Consul's HTTP API over a plain HttpClient: KV list (with blocking queries), get, put (with check-and-set)
/// and delete; the local agent's service registration; and the passing instances of a service (blocking too).
/// The token goes in X-Consul-Token. No Consul library, no reflection.
/// </summary>
public sealed class ConsulClient : IDisposable
{
    private readonly HttpClient _http;

    public ConsulClient(ConsulSettings settings)
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
    public Task<ConsulResult<KvEntry>> ListAsync(string prefix, ulong index, TimeSpan wait, CancellationToken cancel) =>
        BlockingReadAsync($"v1/kv/{EscapePath(prefix)}?recurse", index, wait, ConsulJsonContext.Default.KvEntryArray, cancel);

    /// <summary>Reads one key; NotFound when it does not exist, 403 when the token may not read it.</summary>
    public Task<ConsulResult<KvEntry>> GetAsync(string key, CancellationToken cancel) =>
        ReadAsync($"v1/kv/{EscapePath(key)}", TimeSpan.FromSeconds(10), ConsulJsonContext.Default.KvEntryArray, cancel);

    /// <summary>The instances of <paramref name="service"/> whose checks all pass; blocking, like <see cref="ListAsync"/>.</summary>
    public Task<ConsulResult<ServiceHealth>> PassingAsync(string service, ulong index, TimeSpan wait, CancellationToken cancel) =>
        BlockingReadAsync($"v1/health/service/{Uri.EscapeDataString(service)}?passing=1", index, wait, ConsulJsonContext.Default.ServiceHealthArray, cancel);

    /// <summary>Registers a service (and its check) with the local agent, replacing one with the same ID.</summary>
    public async Task RegisterAsync(ServiceRegistration registration, CancellationToken cancel)
    {
        string body = JsonSerializer.Serialize(registration, ConsulJsonContext.Default.ServiceRegistration);
        await WriteAsync(HttpMethod.Put, "v1/agent/service/register", new StringContent(body, Encoding.UTF8, "application/json"), cancel);
    }

    public async Task DeregisterAsync(string serviceId, CancellationToken cancel) =>
        await WriteAsync(HttpMethod.Put, $"v1/agent/service/deregister/{Uri.EscapeDataString(serviceId)}", null, cancel);

    // With an index this blocks: Consul answers when something changes or after wait (plus up to wait/16 of
    // jitter); allow that and a margin before giving up.
    private Task<ConsulResult<T>> BlockingReadAsync<T>(string url, ulong index, TimeSpan wait, JsonTypeInfo<T[]> type, CancellationToken cancel)
    {
        if (index > 0)
            url += $"&index={index}&wait={(long)wait.TotalSeconds}s";
        var timeout = index > 0 ? wait + wait / 16 + TimeSpan.FromSeconds(10) : TimeSpan.FromSeconds(10);
        return ReadAsync(url, timeout, type, cancel);
    }

    /// <summary>Writes a value. With <paramref name="cas"/>, only if the key's ModifyIndex is still that (0: only if absent).</summary>
    public Task<bool> PutAsync(string key, string value, ulong? cas, CancellationToken cancel) =>
        WriteAsync(HttpMethod.Put, $"v1/kv/{EscapePath(key)}{(cas is { } c ? $"?cas={c}" : "")}", new StringContent(value, Encoding.UTF8), cancel);

    public Task<bool> DeleteAsync(string key, ulong? cas, CancellationToken cancel) =>
        WriteAsync(HttpMethod.Delete, $"v1/kv/{EscapePath(key)}{(cas is { } c ? $"?cas={c}" : "")}", null, cancel);

    private async Task<ConsulResult<T>> ReadAsync<T>(string url, TimeSpan timeout, JsonTypeInfo<T[]> type, CancellationToken cancel)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        limit.CancelAfter(timeout);
        try
        {
            using var response = await _http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, limit.Token);
            ulong index = response.Headers.TryGetValues("X-Consul-Index", out var values)
                && ulong.TryParse(values.FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out ulong i) ? i : 0;
            if (response.StatusCode == HttpStatusCode.NotFound)
                return new ConsulResult<T>(response.StatusCode, [], index, null);
            if (!response.IsSuccessStatusCode)
                return new ConsulResult<T>(response.StatusCode, [], index, await DescribeAsync(response, limit.Token));
            await using var body = await response.Content.ReadAsStreamAsync(limit.Token);
            var entries = await JsonSerializer.DeserializeAsync(body, type, limit.Token) ?? [];
            return new ConsulResult<T>(response.StatusCode, entries, index, null);
        }
        catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
        {
            return new ConsulResult<T>(0, [], 0, $"no answer from {Settings.Address} within {timeout.TotalSeconds:0}s");
        }
        catch (HttpRequestException e)
        {
            return new ConsulResult<T>(0, [], 0, $"cannot reach {Settings.Address}: {e.Message}");
        }
        catch (JsonException e)
        {
            return new ConsulResult<T>(0, [], 0, $"unexpected answer from {Settings.Address}: {e.Message}");
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
            handler.SslOptions.ClientCertificates = [X509Certificate2.CreateFromPem(Primitives.BoundedFile.ReadText(settings.ClientCertPath), Primitives.BoundedFile.ReadText(settings.ClientKeyPath!))];
        if (!settings.VerifyTls)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = static (_, _, _, _) => true;
        }
        else if (settings.CaCertPath is not null)
        {
            var roots = new X509Certificate2Collection();
            roots.ImportFromPem(Primitives.BoundedFile.ReadText(settings.CaCertPath));
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
