namespace Polymur.Gateway.Outputs;

/// <summary>How writers dial and redial.</summary>
internal sealed record WriterOptions
{
    public TimeSpan DialTimeout { get; init; } = TimeSpan.FromSeconds(5);
    public TimeSpan ReconnectInitial { get; init; } = TimeSpan.FromMilliseconds(100);
    public TimeSpan ReconnectMax { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>-spool-replay-rate: spooled points per second a connected writer sends beside live data.</summary>
    public int ReplayRate { get; init; } = 100_000;

    /// <summary>
    /// The batches sent last that are kept to send again after a connection loss, in buffer bytes held; 0 keeps
    /// none. With the spool it is 16 MiB: our send buffer plus the peer's receive buffer at Linux's default limits
    /// (4 MiB and 6 MiB) is 10 MiB of lines, in pooled buffers up to 16 MiB. Kept buffers stay in -max-batch-memory.
    /// It costs CPU (a larger set of buffers in use, colder in the cache), so it comes with the spool's promise.
    /// </summary>
    public long ResendWindowBytes { get; init; }

    public const long SpoolResendWindowBytes = 16 << 20;

    /// <summary>-destination-ca: the roots tls:// destinations are verified against; null: the system's store.</summary>
    public System.Security.Cryptography.X509Certificates.X509Certificate2Collection? DestinationCa { get; init; }
}
