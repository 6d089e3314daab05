namespace Polymur.Gateway.Keys;

/// <summary>
/// Answers "which key name does this API key belong to?" on every request. Implementations hand out an
/// immutable snapshot, so the hot path takes no lock; a key source swaps the snapshot when keys change.
/// </summary>
public interface IKeyCache
{
    /// <summary>Finds the name registered for <paramref name="key"/> without leaking timing about the key.</summary>
    bool TryGetName(ReadOnlySpan<char> key, out string name);

    /// <summary>How many keys are currently valid.</summary>
    int Count { get; }

    /// <summary>The names of the valid keys: the tenants.</summary>
    IEnumerable<string> Names { get; }

    /// <summary>Whether a valid key has this name.</summary>
    bool HasName(string name);
}
