namespace Polymur.Gateway.Consul;

/// <summary>One entry of <c>GET /v1/health/service/&lt;name&gt;</c>: an instance, and the node it runs on.</summary>
public sealed class ServiceHealth
{
    public HealthNode? Node { get; set; }

    public HealthService? Service { get; set; }
}

public sealed class HealthNode
{
    public string Node { get; set; } = "";
}

public sealed class HealthService
{
    public string ID { get; set; } = "";

    public string Address { get; set; } = "";

    public int Port { get; set; }
}
