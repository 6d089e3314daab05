using System.Text;
using Polymur.Gateway.Consul;

namespace Polymur.Gateway.Keys;

/// <summary>
/// The keys a Consul listing holds, checked: <c>&lt;prefix&gt;&lt;name&gt;</c> = key. The folder entry is
/// skipped; the name is the last path segment; a null or empty value is never a
/// key; a name that is not one safe path segment (or is reserved) is refused; and when two names hold the same key, or two
/// entries the same name, those are refused until an operator fixes them. Each refusal is a problem to log.
/// </summary>
public sealed class ConsulKeySet
{
    private ConsulKeySet(KeySnapshot snapshot, Dictionary<string, (string Path, KeyDigest Digest)> names, List<string> problems)
    {
        Snapshot = snapshot;
        Names = names;
        Problems = problems;
    }

    public static readonly ConsulKeySet Empty = new(KeySnapshot.Empty, [], []);

    public KeySnapshot Snapshot { get; }

    /// <summary>Valid names, with the Consul path and key digest of each.</summary>
    public IReadOnlyDictionary<string, (string Path, KeyDigest Digest)> Names { get; }

    public IReadOnlyList<string> Problems { get; }

    /// <param name="reserved">A name no tenant may have (the self-metrics' first segment under -key-prefix), or null.</param>
    public static ConsulKeySet From(IEnumerable<KvEntry> entries, string prefix, string? reserved = null)
    {
        var problems = new List<string>();
        var byName = new Dictionary<string, List<(string Path, KeyDigest Digest)>>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            if (!entry.Key.StartsWith(prefix, StringComparison.Ordinal))
                continue;
            string rest = entry.Key[prefix.Length..];
            if (rest.Length == 0 || rest.EndsWith('/'))
                continue; // the folder entry itself, or a sub-folder
            string name = rest[(rest.LastIndexOf('/') + 1)..];
            if (!KeyNames.IsValid(name))
            {
                problems.Add($"{entry.Key}: the name is not one safe metric path segment ({KeyNames.Rule}); its key is refused");
                continue;
            }
            if (name == reserved)
            {
                problems.Add($"{entry.Key}: the name is the first segment of the self-metrics prefix (-metrics-prefix); its key is refused");
                continue;
            }
            var value = Trim(entry.Value);
            if (value.IsEmpty)
            {
                problems.Add($"{entry.Key}: no key value; refused");
                continue;
            }
            if (!byName.TryGetValue(name, out var list))
                byName[name] = list = [];
            list.Add((entry.Key, KeyDigest.Of(value)));
        }

        var names = new Dictionary<string, (string Path, KeyDigest Digest)>(StringComparer.Ordinal);
        foreach (var (name, list) in byName)
        {
            if (list.Count > 1)
                problems.Add($"name {name} is registered more than once ({string.Join(", ", list.Select(e => e.Path))}); refused until one is removed");
            else
                names[name] = list[0];
        }
        var owners = names.GroupBy(n => n.Value.Digest).ToList();
        foreach (var shared in owners.Where(g => g.Count() > 1))
            problems.Add($"names {string.Join(", ", shared.Select(n => n.Key).Order(StringComparer.Ordinal))} hold the same key; it is refused until they differ");
        var unique = owners.Where(g => g.Count() == 1).Select(g => g.Single()).ToDictionary(n => n.Key, n => n.Value, StringComparer.Ordinal);
        var snapshot = KeySnapshot.From(unique.Select(n => KeyValuePair.Create(n.Value.Digest, n.Key)));
        return new ConsulKeySet(snapshot, unique, problems);
    }

    // A key never holds whitespace; a value written from a file often ends in a newline.
    private static ReadOnlySpan<byte> Trim(byte[]? value) =>
        value is null ? [] : value.AsSpan().Trim(" \t\r\n"u8);

    /// <summary>What changed from <paramref name="before"/>: names added, removed, and given a new key.</summary>
    public (int Added, int Removed, int Changed) DiffFrom(ConsulKeySet before)
    {
        int added = 0, changed = 0;
        foreach (var (name, now) in Names)
        {
            if (!before.Names.TryGetValue(name, out var then))
                added++;
            else if (!then.Digest.Equals(now.Digest))
                changed++;
        }
        int removed = before.Names.Keys.Count(n => !Names.ContainsKey(n));
        return (added, removed, changed);
    }
}
