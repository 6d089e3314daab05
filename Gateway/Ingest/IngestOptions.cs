namespace Polymur.Gateway.Ingest;

/// <summary>What the ingest endpoints need from the configuration.</summary>
internal sealed record IngestOptions(bool KeyPrefix, long MaxBodySize, long MaxBatchSize, int MaxLineLength, TimeSpan QueueWait, long MaxBatchMemory);
