namespace Polymur.Gateway.Hosting;

/// <summary>
/// A part whose files can change while the gateway runs (the TLS certificate today; the routing file could be
/// next). <see cref="ReloadLoop"/> calls it on its own thread, once a second and on SIGHUP, never on a request's.
/// </summary>
internal interface IReloadable
{
    /// <summary>What it is, for the log ("the TLS certificate").</summary>
    string What { get; }

    /// <summary>Rereads its files; a bad read keeps what it has. <paramref name="forced"/>: SIGHUP asked, take a change at once.</summary>
    void Reload(bool forced);
}
