using Polymur.Gateway.Configuration;
using Polymur.Gateway.Outputs;
using Polymur.Gateway.Primitives;
using Polymur.Gateway.Spool;

namespace Polymur.Gateway.Hosting.Wiring;

/// <summary>The destinations, their spools (-spool-dir), and the buffer pool every batch comes from.</summary>
internal sealed record OutputParts(BufferPool Buffers, DestinationSet Destinations, SpoolSet? Spools)
{
    public static OutputParts Build(GatewayOptions options, GatewayAppSettings settings, ILoggerFactory loggers)
    {
        var buffers = new BufferPool();
        var spools = options.SpoolDir is null
            ? null
            : new SpoolSet(options.SpoolDir, options.SpoolMaxSize, SpoolSettings.From(options, buffers), loggers.CreateLogger<SpoolSet>());
        var writers = settings.Writers with
        {
            ReplayRate = options.SpoolReplayRate,
            DestinationTimeout = options.DestinationTimeout,
            DestinationCa = LoadRoots(options.DestinationCaPath),
        };
        var destinations = DestinationSet.Create(options, writers, settings.Stdout, loggers, spools);
        spools?.FindOrphans(options.Destinations.Select(d => d.Name));
        return new OutputParts(buffers, destinations, spools);
    }

    private static System.Security.Cryptography.X509Certificates.X509Certificate2Collection? LoadRoots(string? path)
    {
        if (path is null)
            return null;
        var roots = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection();
        roots.ImportFromPem(BoundedFile.ReadText(path));
        return roots;
    }
}
