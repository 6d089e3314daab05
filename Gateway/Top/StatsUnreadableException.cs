namespace Polymur.Gateway.Top;

/// <summary>A /stats answer top cannot use at all (no answer, an error status, a redirect, too large, not a JSON object), said in a sentence.</summary>
internal sealed class StatsUnreadableException(string message) : Exception(message);
