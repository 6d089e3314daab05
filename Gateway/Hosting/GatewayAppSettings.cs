using Polymur.Gateway.Consul;
using Polymur.Gateway.Keys;
using Polymur.Gateway.Outputs;

namespace Polymur.Gateway.Hosting;

/// <summary>What the host process provides, so tests can run the real gateway in-process.</summary>
public sealed class GatewayAppSettings
{
    /// <summary>Where -console-out writes lines.</summary>
    public Stream Stdout { get; init; } = Console.OpenStandardOutput();

    /// <summary>Replaces the key source (tests use a fixed key set; the app uses dev mode or Consul).</summary>
    public IKeyCache? Keys { get; init; }

    /// <summary>How to reach Consul: for the keys and limits (not in dev mode, and no <see cref="Keys"/>), and for -consul-register.</summary>
    public ConsulSettings? Consul { get; init; }

    public Action<ILoggingBuilder>? ConfigureLogging { get; init; }

    internal WriterOptions Writers { get; init; } = new();

    /// <summary>The clock of the tenants' token buckets (tests move their own).</summary>
    internal TimeProvider TenantClock { get; init; } = TimeProvider.System;

    /// <summary>The host name that -metrics-flush series start with (sanitized).</summary>
    public string HostName { get; init; } = Environment.MachineName;

    public TimeSpan DropReportInterval { get; init; } = TimeSpan.FromSeconds(10);
}
