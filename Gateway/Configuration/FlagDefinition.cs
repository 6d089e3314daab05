namespace Polymur.Gateway.Configuration;

/// <summary>What a flag's value names, for shell completion.</summary>
internal enum ValueHint
{
    None,
    File,
    Directory,
}

/// <summary>
/// One command-line flag and its environment variable. The table of these (<see cref="Flags"/>) is the
/// single source for parsing, <c>--help</c> and the README's env table, so the three cannot drift.
/// </summary>
internal sealed class FlagDefinition
{
    public required string Name { get; init; }

    /// <summary>The value kind shown in help, as Go's flag package does: string, int, size, duration; empty for booleans.</summary>
    public required string Kind { get; init; }

    public required string Help { get; init; }

    /// <summary>The default, as help shows it; empty when there is none worth showing.</summary>
    public required string Default { get; init; }

    /// <summary>Applies a raw value, or throws <see cref="FormatException"/> with a short reason.</summary>
    public required Func<GatewayOptions, string, GatewayOptions> Apply { get; init; }

    /// <summary>The values a flag takes, when they are a fixed few (shell completion offers them).</summary>
    public IReadOnlyList<string> Choices { get; init; } = [];

    public ValueHint Hint { get; init; }

    public bool IsBoolean => Kind.Length == 0;

    public string EnvVar => "POLYMUR_GW_" + Name.ToUpperInvariant().Replace('-', '_');
}
