using System.Net;

namespace Polymur.Gateway.Tenants;

/// <summary>
/// The last few client addresses a tenant's batches came from, with the X-Forwarded-For each carried (a load
/// balancer's client). For support only: XFF is whatever the client says, so nothing decides on it.
/// </summary>
public sealed class RecentClients
{
    public const int Capacity = 4;
    private const int MaxForwardedLength = 100;

    private readonly Entry[] _entries = new Entry[Capacity];
    private readonly Lock _gate = new();

    private struct Entry
    {
        public IPAddress? Address;
        public string? Forwarded;
        public long LastSeenMs;
    }

    /// <summary>Notes a batch from <paramref name="address"/>; the oldest entry makes room for a new one.</summary>
    public void Seen(IPAddress? address, string? forwarded, long nowMs)
    {
        if (address is null)
            return;
        if (forwarded is { Length: 0 })
            forwarded = null;
        lock (_gate)
        {
            int oldest = 0;
            for (int i = 0; i < _entries.Length; i++)
            {
                ref var e = ref _entries[i];
                if (address.Equals(e.Address) && forwarded == e.Forwarded)
                {
                    e.LastSeenMs = nowMs;
                    return;
                }
                if (e.LastSeenMs < _entries[oldest].LastSeenMs)
                    oldest = i;
            }
            _entries[oldest] = new Entry { Address = address, Forwarded = forwarded, LastSeenMs = nowMs };
        }
    }

    /// <summary>The entries, newest first, with XFF cleaned to printable ASCII and cut short.</summary>
    public (string Address, string? ForwardedFor, long LastSeenMs)[] Snapshot()
    {
        lock (_gate)
        {
            return _entries.Where(e => e.Address is not null)
                .OrderByDescending(e => e.LastSeenMs)
                .Select(e => (e.Address!.ToString(), e.Forwarded is null ? null : Clean(e.Forwarded), e.LastSeenMs))
                .ToArray();
        }
    }

    private static string Clean(string value)
    {
        var chars = value.AsSpan(0, Math.Min(value.Length, MaxForwardedLength)).ToArray();
        for (int i = 0; i < chars.Length; i++)
            chars[i] = chars[i] is >= ' ' and <= '~' ? chars[i] : '?';
        return new string(chars);
    }
}
