namespace Polymur.Gateway.Telemetry;

/// <summary>The process as the runtime and the kernel see it; -1 where the kernel could not say.</summary>
public sealed record RuntimeStats(
    long WorkingSetBytes,
    long GcHeapSizeBytes,
    long GcCommittedBytes,
    Dictionary<string, long> GcGenerationSizeBytes,
    long TotalAllocatedBytes,
    long Gen0Collections,
    long Gen1Collections,
    long Gen2Collections,
    double GcPauseSeconds,
    double CpuSeconds,
    int Threads);
