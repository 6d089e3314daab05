namespace Polymur.Gateway.Tenants;

/// <summary>One line a tenant sent that was not forwarded, cut short, and why.</summary>
public sealed record RejectSample(long TimeUnixMs, string Reason, string Line);

/// <summary>
/// The last few lines a tenant sent that were not forwarded (the first of each batch that had one), so
/// support can tell a tenant what is wrong without reading logs.
/// </summary>
public sealed class RecentRejects
{
    public const int Capacity = 5;

    private readonly RejectSample?[] _samples = new RejectSample?[Capacity];
    private readonly Lock _gate = new();
    private int _next;

    public void Add(RejectSample sample)
    {
        lock (_gate)
        {
            _samples[_next] = sample;
            _next = (_next + 1) % Capacity;
        }
    }

    /// <summary>Newest first.</summary>
    public RejectSample[] Snapshot()
    {
        lock (_gate)
        {
            var list = new List<RejectSample>(Capacity);
            for (int i = 1; i <= Capacity; i++)
            {
                if (_samples[(_next - i + Capacity) % Capacity] is { } s)
                    list.Add(s);
            }
            return [.. list];
        }
    }
}
