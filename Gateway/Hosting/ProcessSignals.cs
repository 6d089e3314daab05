using System.Runtime.InteropServices;
using Polymur.Gateway.Primitives;

namespace Polymur.Gateway.Hosting;

/// <summary>
/// What the gateway does on the signals that would otherwise end it without a drain. SIGHUP ("reload", as the
/// systemd unit's ExecReload and logrotate send it) asks the <see cref="ReloadLoop"/> for a reload, in every
/// configuration: without -cert there is nothing to reload, and the gateway carries on. SIGUSR1 and SIGUSR2 end a
/// .NET process by default (exit 138 and 140, nothing drained); they are taken and ignored. SIGPIPE is already
/// ignored by the .NET runtime (a closed socket is an EPIPE error). SIGTERM and SIGINT stay the host's: drain, exit.
/// The handlers run on a thread-pool thread .NET hands the signal to; they only set a flag and wake the
/// reload thread, which also writes their log line (at most one per 10 s for SIGHUP, one for SIGUSR1/2), so a storm neither
/// blocks nor floods anything.
/// </summary>
internal sealed partial class ProcessSignals : IDisposable
{
    // Linux numbers; .NET takes raw numbers cast to PosixSignal for signals its enum does not name.
    private const int SIGUSR1 = 10, SIGUSR2 = 12;

    private readonly ReloadLoop _reload;
    private readonly ILogger<ProcessSignals> _log;
    private readonly LogLimiter _hangupLog = new(TimeSpan.FromSeconds(10));
    private readonly LogLimiter _ignoredLog = new(TimeSpan.FromSeconds(10));
    private readonly List<PosixSignalRegistration> _registrations = [];

    public ProcessSignals(ReloadLoop reload, ILogger<ProcessSignals> log)
    {
        _reload = reload;
        _log = log;
    }

    public void Register()
    {
        if (_registrations.Count > 0)
            return;
        _registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGHUP, OnHangup));
        _registrations.Add(PosixSignalRegistration.Create((PosixSignal)SIGUSR1, OnIgnored));
        _registrations.Add(PosixSignalRegistration.Create((PosixSignal)SIGUSR2, OnIgnored));
    }

    private void OnHangup(PosixSignalContext context)
    {
        context.Cancel = true; // SIGHUP means "reload", not "hang up and exit"
        _reload.Request();
        if (_hangupLog.TryEnter(out long held))
            _reload.Post(() => LogHangup(_reload.What, held));
    }

    private void OnIgnored(PosixSignalContext context)
    {
        context.Cancel = true;
        string name = (int)context.Signal == SIGUSR1 ? "SIGUSR1" : "SIGUSR2";
        if (_ignoredLog.TryEnter(out long held))
            _reload.Post(() => LogIgnored(name, held));
    }

    public void Dispose()
    {
        foreach (var registration in _registrations)
            registration.Dispose();
        _registrations.Clear();
    }

    [LoggerMessage(EventId = 931, Level = LogLevel.Information, Message = "SIGHUP: reloading {What} ({Held} more SIGHUPs since the last such line, folded in)")]
    private partial void LogHangup(string what, long held);

    [LoggerMessage(EventId = 932, Level = LogLevel.Information, Message = "{Signal} ignored: the gateway does nothing on it ({Held} more since the last such line)")]
    private partial void LogIgnored(string signal, long held);
}
