using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Polymur.Gateway.Hosting;

/// <summary>
/// -max-connections on the ingest listeners, and -first-request-timeout. At the cap, a new connection evicts
/// the one that has waited longest without a request in progress (silent sockets first, then idle
/// keep-alives); only when every connection is busy with a request is the newcomer itself closed. Kestrel's
/// own limit refuses the newcomer instead, so a client holding silent sockets would lock everyone else out.
/// A connection that has not sent a whole request within the timeout is closed.
/// </summary>
internal sealed class ConnectionLimit : IAsyncDisposable
{
    private const string Key = "polymur.connection";

    private readonly int _max;
    private readonly long _firstRequestTicks;
    private readonly ConcurrentDictionary<Tracked, byte> _open = new();
    private readonly Timer _sweeper;
    private int _count;
    private long _evicted, _refused, _timedOut;

    public ConnectionLimit(int max, TimeSpan firstRequestTimeout)
    {
        _max = max;
        _firstRequestTicks = (long)(firstRequestTimeout.TotalSeconds * Stopwatch.Frequency);
        var period = TimeSpan.FromMilliseconds(Math.Clamp(firstRequestTimeout.TotalMilliseconds / 4, 50, 1000));
        _sweeper = new Timer(_ => Sweep(), null, period, period);
    }

    public int Open => Volatile.Read(ref _count);

    public int Max => _max;

    /// <summary>Connections closed to make room for a new one.</summary>
    public long Evicted => Interlocked.Read(ref _evicted);

    /// <summary>New connections closed at once because every open one was busy.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>Connections closed for sending no whole request within -first-request-timeout.</summary>
    public long TimedOut => Interlocked.Read(ref _timedOut);

    public void Apply(ListenOptions listen) => listen.Use(next => connection => HandleAsync(connection, next));

    /// <summary>HTTP middleware: marks the connection busy while one of its requests runs.</summary>
    public async Task TrackRequest(HttpContext context, RequestDelegate next)
    {
        if (context.Features.Get<IConnectionItemsFeature>()?.Items.TryGetValue(Key, out var item) != true || item is not Tracked tracked)
        {
            await next(context);
            return;
        }
        tracked.Begin();
        try
        {
            await next(context);
        }
        finally
        {
            tracked.End();
        }
    }

    private async Task HandleAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        if (Interlocked.Increment(ref _count) > _max && !EvictIdlest())
        {
            Interlocked.Decrement(ref _count);
            Interlocked.Increment(ref _refused);
            connection.Abort(new ConnectionAbortedException("-max-connections reached and every connection is busy"));
            return;
        }
        var tracked = new Tracked(connection);
        connection.Items[Key] = tracked;
        _open.TryAdd(tracked, 0);
        try
        {
            await next(connection);
        }
        finally
        {
            _open.TryRemove(tracked, out _);
            Interlocked.Decrement(ref _count);
        }
    }

    // O(open connections), but only at the cap.
    private bool EvictIdlest()
    {
        while (true)
        {
            Tracked? idlest = null;
            foreach (var tracked in _open.Keys)
            {
                if (tracked.IsIdle && (idlest is null || tracked.IdleSince < idlest.IdleSince))
                    idlest = tracked;
            }
            if (idlest is null)
                return false;
            if (idlest.TryClose("evicted: -max-connections reached"))
            {
                Interlocked.Increment(ref _evicted);
                return true;
            }
        }
    }

    private void Sweep()
    {
        long now = Stopwatch.GetTimestamp();
        foreach (var tracked in _open.Keys)
        {
            if (!tracked.HadRequest && tracked.IsIdle && now - tracked.IdleSince > _firstRequestTicks && tracked.TryClose("no request within -first-request-timeout"))
                Interlocked.Increment(ref _timedOut);
        }
    }

    public ValueTask DisposeAsync() => _sweeper.DisposeAsync();

    private sealed class Tracked(ConnectionContext connection)
    {
        private int _active;
        private int _closed;
        private long _idleSince = Stopwatch.GetTimestamp();
        private volatile bool _hadRequest;

        public bool IsIdle => Volatile.Read(ref _active) == 0 && Volatile.Read(ref _closed) == 0;

        public long IdleSince => Interlocked.Read(ref _idleSince);

        public bool HadRequest => _hadRequest;

        public void Begin()
        {
            _hadRequest = true;
            Interlocked.Increment(ref _active);
        }

        public void End()
        {
            Interlocked.Exchange(ref _idleSince, Stopwatch.GetTimestamp());
            Interlocked.Decrement(ref _active);
        }

        // Once only, and never while a request runs: its 200 may be on the way.
        public bool TryClose(string why)
        {
            if (Volatile.Read(ref _active) != 0 || Interlocked.CompareExchange(ref _closed, 1, 0) != 0)
                return false;
            connection.Abort(new ConnectionAbortedException(why));
            return true;
        }
    }
}
