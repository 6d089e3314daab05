using System.Text.Json.Serialization;

namespace Polymur.Gateway.Consul;

/// <summary>The body of the agent's <c>PUT /v1/agent/service/register</c>: one instance and its health check.</summary>
public sealed class ServiceRegistration
{
    [JsonPropertyName("ID")]
    public required string Id { get; init; }

    public required string Name { get; init; }

    /// <summary>Empty: the agent's own address.</summary>
    public string? Address { get; init; }

    public int Port { get; init; }

    public string[] Tags { get; init; } = [];

    public Dictionary<string, string> Meta { get; init; } = [];

    public ServiceCheck? Check { get; init; }
}

/// <summary>An HTTP check the agent runs against the instance.</summary>
public sealed class ServiceCheck
{
    [JsonPropertyName("HTTP")]
    public required string Http { get; init; }

    public string Interval { get; init; } = "10s";

    public string Timeout { get; init; } = "2s";

    /// <summary>An instance that crashed without deregistering is removed once its check has failed this long.</summary>
    public string DeregisterCriticalServiceAfter { get; init; } = "1m";

    /// <summary>The status before the first check runs: "passing" counts the instance at once.</summary>
    public string? Status { get; init; }
}
