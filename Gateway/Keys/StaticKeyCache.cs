namespace Polymur.Gateway.Keys;

/// <summary>A key cache whose keys never change: dev mode's single key, and tests.</summary>
public sealed class StaticKeyCache(KeySnapshot snapshot) : IKeyCache
{
    /// <summary>Dev mode accepts exactly the key <c>123</c>, named <c>dev</c> (README, -dev-mode).</summary>
    public static StaticKeyCache DevMode() => new(KeySnapshot.From([("dev", "123")]));

    public int Count => snapshot.Count;

    public IEnumerable<string> Names => snapshot.Names;

    public bool HasName(string name) => snapshot.HasName(name);

    public bool TryGetName(ReadOnlySpan<char> key, out string name) => snapshot.TryGetName(key, out name);
}
