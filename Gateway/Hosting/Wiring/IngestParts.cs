using Polymur.Gateway.Configuration;
using Polymur.Gateway.Ingest;
using Polymur.Gateway.Ingest.Plaintext;
using Polymur.Gateway.Outputs;
using Polymur.Gateway.Primitives;
using Polymur.Gateway.Routing;
using Polymur.Gateway.Telemetry;

namespace Polymur.Gateway.Hosting.Wiring;

/// <summary>The path a batch takes from /ingest (or the plaintext listener) to the queues: decode, parse, route, admit.</summary>
internal sealed record IngestParts(IngestHandler Handler, BatchDispatcher Dispatcher, IngestCounters Counters, InflightBatches Inflight, PlaintextListener? Plaintext)
{
    public static IngestParts Build(GatewayOptions options, OutputParts outputs, KeyParts keys, TenantParts tenants, ClientCertificates? clientCertificates, ILoggerFactory loggers)
    {
        var counters = new IngestCounters();
        var inflight = new InflightBatches(options.IncomingQueueCap);
        var tables = new RoutingTables(outputs.Destinations, options.Distribution);
        IBatchRouter router = options.Distribution == Distribution.Broadcast ? new BroadcastRouter(tables) : new HashRouter(tables, outputs.Buffers);
        var dispatcher = new BatchDispatcher(router, outputs.Destinations, new Admission(inflight, options.QueueWait), inflight, outputs.Buffers);
        var ingestOptions = IngestOptions.From(options);
        var parser = new BatchParser(outputs.Buffers, dispatcher, ingestOptions);
        var handler = new IngestHandler(
            keys.Cache,
            tenants.Registry,
            new GzipBatchDecoder(outputs.Buffers, options.MaxBatchSize, options.MaxConcurrentDecodes, options.MaxBatchMemory, options.QueueWait),
            outputs.Buffers,
            parser,
            dispatcher,
            new DecodeSlots(options.MaxConcurrentDecodes),
            counters,
            ingestOptions,
            clientCertificates,
            loggers.CreateLogger<IngestHandler>());
        var plaintext = PlaintextOptions.From(options) is { } tcp
            ? new PlaintextListener(
                new PlaintextIntake(tenants.Registry, parser, dispatcher, outputs.Buffers, counters, new PlaintextCounters(), tcp, loggers.CreateLogger<PlaintextIntake>()),
                tcp,
                outputs.Buffers,
                loggers.CreateLogger<PlaintextListener>())
            : null;
        return new IngestParts(handler, dispatcher, counters, inflight, plaintext);
    }
}
