using Microsoft.AspNetCore.Http;

namespace Polymur.Gateway.Ingest;

/// <summary>
/// The API key a request presents: <c>X-Polymur-Key</c> (what polymur-proxy sends), or <c>Authorization: Bearer
/// &lt;key&gt;</c> for HTTP clients that can only set a bearer token (Telegraf, Vector, curl). Both may be sent if
/// they agree; two different keys, or a header given twice, present no key at all.
/// </summary>
internal static class PresentedKey
{
    public const string KeyHeader = "X-Polymur-Key";

    /// <summary>The key, or null; <paramref name="shown"/> is what to log (redacted later), whatever was sent.</summary>
    public static string? Read(IHeaderDictionary headers, out string shown)
    {
        var header = headers[KeyHeader];
        var authorization = headers.Authorization;
        string? bearer = null;
        if (authorization.Count == 1 && authorization[0] is { } value
            && value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            bearer = value[7..].Trim();
        shown = header.Count > 0 ? header[0] ?? "" : bearer ?? "";
        if (header.Count > 1 || authorization.Count > 1)
            return null;
        string? key = header.Count == 1 ? header[0] : null;
        if (key is not null && bearer is not null && !string.Equals(key, bearer, StringComparison.Ordinal))
            return null;
        return key ?? (bearer is { Length: > 0 } ? bearer : null);
    }
}
