using Microsoft.Extensions.Logging.Abstractions;
using Polymur.Gateway.Configuration;
using Polymur.Gateway.Outputs;

namespace Polymur.Gateway.Tests.Support;

/// <summary>
/// A destination set that is never started: no writer runs and nothing connects, so what is queued stays in the
/// queues for a test to count, and only the membership matters.
/// </summary>
public static class IdleDestinations
{
    public static DestinationSet Create(Distribution distribution, params string[] names) => Create(distribution, 0, names);

    /// <param name="queuePoints">-outgoing-queue-cap; 0 keeps the default.</param>
    public static DestinationSet Create(Distribution distribution, int queuePoints, params string[] names)
    {
        var options = new GatewayOptions { Distribution = distribution, Destinations = [.. names.Select(Address)] };
        if (queuePoints > 0)
            options = options with { OutgoingQueueCap = queuePoints };
        return DestinationSet.Create(options, new WriterOptions(), Stream.Null, NullLoggerFactory.Instance);
    }

    public static DestinationAddress Address(string name) =>
        DestinationAddress.TryParse(name, out var address, out var error) ? address! : throw new ArgumentException(error);
}
