using Polymur.Gateway.Configuration;
using Polymur.Gateway.Ingest;
using Polymur.Gateway.Outputs;
using Polymur.Gateway.Primitives;
using Polymur.Gateway.Routing;
using Polymur.Gateway.Telemetry;

namespace Polymur.Gateway.Hosting.Wiring;

/// <summary>The path a batch takes from /ingest to the queues: decode, parse, route, admit.</summary>
internal sealed record IngestParts(IngestHandler Handler, BatchDispatcher Dispatcher, IngestCounters Counters, InflightBatches Inflight)
{
    public static IngestParts Build(GatewayOptions options, OutputParts outputs, KeyParts keys, TenantParts tenants, ClientCertificates? clientCertificates, ILoggerFactory loggers)
    {
        var counters = new IngestCounters();
        var inflight = new InflightBatches(options.IncomingQueueCap);
        var tables = new RoutingTables(outputs.Destinations, options.Distribution);
        IBatchRouter router = options.Distribution == Distribution.Broadcast ? new BroadcastRouter(tables) : new HashRouter(tables, outputs.Buffers);
        var dispatcher = new BatchDispatcher(router, outputs.Destinations, new Admission(inflight, options.QueueWait), inflight, outputs.Buffers);
        var handler = new IngestHandler(
            keys.Cache,
            tenants.Registry,
            new GzipBatchDecoder(outputs.Buffers, options.MaxBatchSize, options.MaxConcurrentDecodes, options.MaxBatchMemory, options.QueueWait),
            outputs.Buffers,
            dispatcher,
            new DecodeSlots(options.MaxConcurrentDecodes),
            counters,
            IngestOptions.From(options),
            clientCertificates,
            loggers.CreateLogger<IngestHandler>());
        return new IngestParts(handler, dispatcher, counters, inflight);
    }
}
