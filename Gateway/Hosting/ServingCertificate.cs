using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Polymur.Gateway.Hosting;

/// <summary>
/// The HTTPS listener's certificate, replaced without a restart: on SIGHUP, and when the -cert or -key file
/// changes. The files are read once a second and compared by content, which sees every way renewal tools
/// replace them (in place, by rename, by swapping a symlink), and a change is loaded only once it has held
/// for one more read, so a pair caught half-written is not taken for a bad one. New handshakes get the new pair;
/// connections already open keep theirs. A pair that cannot be loaded, whose key does not match, or that is
/// expired or not yet valid, keeps the old one, and is logged once and counted.
/// </summary>
internal sealed partial class ServingCertificate : IAsyncDisposable
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);

    private readonly string _certPath;
    private readonly string _keyPath;
    private readonly ILogger<ServingCertificate> _log;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private X509Certificate2 _current;
    private byte[] _loaded;           // digest of the files the current pair came from
    private byte[]? _seen;            // digest at the last read, waiting to hold for one more
    private byte[]? _failed;          // digest of the last pair refused, not tried again until the files change
    private long _reloads, _failures;
    private string? _lastError;
    private PosixSignalRegistration? _hangup;
    private Task _loop = Task.CompletedTask;

    /// <summary>Loads the first pair; a bad one here is the caller's start-up error.</summary>
    public ServingCertificate(string certPath, string keyPath, ILogger<ServingCertificate> log)
    {
        _certPath = certPath;
        _keyPath = keyPath;
        _log = log;
        _loaded = Digest() ?? [];
        _current = X509Certificate2.CreateFromPemFile(certPath, keyPath);
    }

    /// <summary>The pair new handshakes get.</summary>
    public X509Certificate2 Current => Volatile.Read(ref _current);

    public long Reloads => Interlocked.Read(ref _reloads);

    public long Failures => Interlocked.Read(ref _failures);

    public string? LastError => Volatile.Read(ref _lastError);

    public void Start()
    {
        _hangup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
        {
            context.Cancel = true; // SIGHUP means "reload", not "hang up and exit"
            _ = Task.Run(() => TryReload("SIGHUP", force: true));
        });
        _loop = Task.Run(LoopAsync);
    }

    private async Task LoopAsync()
    {
        using var timer = new PeriodicTimer(PollInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
                TryReload("the files changed", force: false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Loads the files if they changed (or when forced); true when a new pair is serving.</summary>
    internal bool TryReload(string why, bool force)
    {
        lock (_gate)
        {
            var digest = Digest();
            if (digest is null || digest.AsSpan().SequenceEqual(_loaded))
            {
                _seen = null;
                return false;
            }
            if (!force)
            {
                bool held = _seen is not null && digest.AsSpan().SequenceEqual(_seen);
                _seen = digest;
                if (!held || (_failed is not null && digest.AsSpan().SequenceEqual(_failed)))
                    return false;
            }
            _seen = null;
            if (!TryLoad(out var pair, out string error))
            {
                if (_failed is null || !digest.AsSpan().SequenceEqual(_failed))
                {
                    Interlocked.Increment(ref _failures);
                    Volatile.Write(ref _lastError, error);
                    LogRefused(_certPath, _keyPath, why, error, Current.SerialNumber);
                }
                _failed = digest;
                return false;
            }
            var old = Interlocked.Exchange(ref _current, pair!);
            _loaded = digest;
            _failed = null;
            Interlocked.Increment(ref _reloads);
            LogReloaded(why, pair!.SerialNumber, pair.NotAfter.ToUniversalTime(), old.SerialNumber);
            return true;
        }
    }

    private bool TryLoad(out X509Certificate2? pair, out string error)
    {
        pair = null;
        try
        {
            // CreateFromPemFile also refuses a key that is not the certificate's.
            var loaded = X509Certificate2.CreateFromPemFile(_certPath, _keyPath);
            var now = DateTime.UtcNow;
            if (loaded.NotAfter.ToUniversalTime() <= now || loaded.NotBefore.ToUniversalTime() > now)
            {
                error = $"valid only from {loaded.NotBefore.ToUniversalTime():u} to {loaded.NotAfter.ToUniversalTime():u}";
                loaded.Dispose();
                return false;
            }
            pair = loaded;
            error = "";
            return true;
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            error = e.Message;
            return false;
        }
    }

    // Both files' bytes, hashed together; null when one cannot be read right now (mid-rename).
    private byte[]? Digest()
    {
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            hash.AppendData(File.ReadAllBytes(_certPath));
            hash.AppendData([0]);
            hash.AppendData(File.ReadAllBytes(_keyPath));
            return hash.GetHashAndReset();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _hangup?.Dispose();
        _stop.Cancel();
        await _loop;
    }

    [LoggerMessage(EventId = 151, Level = LogLevel.Information, Message = "TLS certificate reloaded ({Why}): serial {Serial}, valid until {NotAfter:u}; was {OldSerial}")]
    private partial void LogReloaded(string why, string serial, DateTime notAfter, string oldSerial);

    [LoggerMessage(EventId = 152, Level = LogLevel.Warning, Message = "TLS certificate {CertPath} / {KeyPath} not reloaded ({Why}): {Error}; still serving serial {Serial}")]
    private partial void LogRefused(string certPath, string keyPath, string why, string error, string serial);
}
