namespace Polymur.Gateway.Tests.Support;

/// <summary>
/// "Nothing reached the sink" shown by a later event instead of by a quiet spell: a marker batch goes through the
/// same queue and connection behind anything the gateway had for the sink, so once the marker has arrived,
/// whatever was sent before it has arrived too.
/// </summary>
public static class Marker
{
    public const string Line = "zz.marker.after 1 1700000000";

    /// <summary>Sends the marker (dev-mode key) and returns the lines that arrived before it.</summary>
    public static async Task<IReadOnlyList<string>> LinesBeforeAsync(ProxyClient client, TcpSink sink)
    {
        var reply = await client.IngestAsync("123", Line + "\n");
        if (reply.Status != 200)
            throw new InvalidOperationException($"the marker batch was answered {reply.Status}: {reply.Body}");
        if (!await Poll.UntilAsync(() => sink.Lines.Contains(Line), TimeSpan.FromSeconds(30)))
            throw new TimeoutException("the marker line did not reach the sink within 30 s");
        return [.. sink.Lines.TakeWhile(l => l != Line)];
    }
}
