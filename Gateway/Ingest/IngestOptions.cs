using Polymur.Gateway.Configuration;

namespace Polymur.Gateway.Ingest;

/// <summary>What the ingest endpoints need from the configuration.</summary>
internal sealed record IngestOptions(bool KeyPrefix, long MaxBodySize, long MaxBatchSize, int MaxLineLength, TimeSpan QueueWait, long MaxBatchMemory)
{
    public static IngestOptions From(GatewayOptions options) =>
        new(options.KeyPrefix, options.MaxBodySize, options.MaxBatchSize, options.MaxLineLength, options.QueueWait, options.MaxBatchMemory);
}
