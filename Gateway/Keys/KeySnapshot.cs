using System.Collections.Frozen;

namespace Polymur.Gateway.Keys;

/// <summary>An immutable set of valid keys (by digest) and their names. Built once, then only read.</summary>
public sealed class KeySnapshot
{
    public static readonly KeySnapshot Empty = new(FrozenDictionary<KeyDigest, string>.Empty);

    private readonly FrozenDictionary<KeyDigest, string> _names;
    private readonly FrozenSet<string> _nameSet;

    private KeySnapshot(FrozenDictionary<KeyDigest, string> names)
    {
        _names = names;
        _nameSet = names.Values.ToFrozenSet(StringComparer.Ordinal);
    }

    /// <summary>Whether a valid key has this name (a client certificate names its tenant; the key must still exist).</summary>
    public bool HasName(string name) => _nameSet.Contains(name);

    public int Count => _names.Count;

    public IEnumerable<string> Names => _names.Values;

    /// <param name="entries">(name, key) pairs; a null or empty key is never valid.</param>
    public static KeySnapshot From(IEnumerable<(string Name, string Key)> entries)
    {
        var map = new Dictionary<KeyDigest, string>();
        foreach (var (name, key) in entries)
        {
            if (!string.IsNullOrEmpty(key))
                map[KeyDigest.Of(key)] = name;
        }
        return new KeySnapshot(map.ToFrozenDictionary());
    }

    /// <param name="entries">(name, digest) pairs, already checked: one name per digest.</param>
    public static KeySnapshot From(IEnumerable<KeyValuePair<KeyDigest, string>> entries) =>
        new(entries.ToFrozenDictionary());

    public bool TryGetName(ReadOnlySpan<char> key, out string name)
    {
        if (key.IsEmpty)
        {
            name = "";
            return false;
        }
        if (_names.TryGetValue(KeyDigest.Of(key), out string? found))
        {
            name = found;
            return true;
        }
        name = "";
        return false;
    }
}
