namespace Polymur.Gateway.Outputs;

/// <summary>How writers dial, redial, and decide that a destination is dead.</summary>
internal sealed record WriterOptions
{
    /// <summary>
    /// -destination-timeout: the connect timeout, each socket's TCP_USER_TIMEOUT and keepalive, and the progress
    /// deadline (acknowledged bytes standing still this long with data outstanding: declared down).
    /// </summary>
    public TimeSpan DestinationTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How often a writer with unacknowledged bytes and nothing new to send reads how far the peer acknowledged,
    /// so that delivered catches up when the load pauses, and a blocked send is watched against the deadline.
    /// </summary>
    public TimeSpan AckPollInterval { get; init; } = TimeSpan.FromMilliseconds(50);

    public TimeSpan ReconnectInitial { get; init; } = TimeSpan.FromMilliseconds(100);
    public TimeSpan ReconnectMax { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>-spool-replay-rate: spooled points per second a connected writer sends beside live data.</summary>
    public int ReplayRate { get; init; } = 100_000;

    /// <summary>-destination-ca: the roots tls:// destinations are verified against; null: the system's store.</summary>
    public System.Security.Cryptography.X509Certificates.X509Certificate2Collection? DestinationCa { get; init; }
}
