namespace Polymur.Gateway.Keys;

/// <summary>How the key source is doing, for logs and health output.</summary>
public sealed record KeySyncStatus(
    string Source,
    int Keys,
    bool Reachable,
    DateTimeOffset? LastSync,
    DateTimeOffset? OutageSince,
    string? LastError,
    ulong Index);
