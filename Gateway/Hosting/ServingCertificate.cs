using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Polymur.Gateway.Primitives;

namespace Polymur.Gateway.Hosting;

/// <summary>
/// The HTTPS listener's certificate, replaced without a restart: on SIGHUP, and when the -cert or -key file
/// changes. The <see cref="ReloadLoop"/> reads the files once a second, on its own thread, and they are compared by
/// content, which sees every way renewal tools replace them (in place, by rename, by swapping a symlink); a change
/// is loaded only once it has held for one more read, so a pair caught half-written is not taken for a bad one.
/// The files are read through <see cref="BoundedFile"/>: a FIFO, a device or a file over 4 MiB is refused, never
/// waited on or buffered. New handshakes get the new pair; connections already open keep theirs. A pair that
/// cannot be read or loaded, whose key does not match, or that is expired or not yet valid, keeps the old one,
/// and is logged once and counted once until the files change.
/// </summary>
internal sealed partial class ServingCertificate : IReloadable
{
    private readonly string _certPath;
    private readonly string _keyPath;
    private readonly ILogger<ServingCertificate> _log;
    private readonly Lock _gate = new();
    private X509Certificate2 _current;
    private string _loaded;           // what the current pair came from: the files' digest
    private string? _seen;            // what the last read found, waiting to hold for one more
    private string? _failed;          // the last pair (or read error) refused, not counted again until it changes
    private long _reloads, _failures;
    private string? _lastError;

    /// <summary>Loads the first pair; a bad one here is the caller's start-up error (a CryptographicException).</summary>
    public ServingCertificate(string certPath, string keyPath, ILogger<ServingCertificate> log)
    {
        _certPath = certPath;
        _keyPath = keyPath;
        _log = log;
        if (!TryReadFiles(out var cert, out var key, out string error))
            throw new CryptographicException(error);
        _loaded = Digest(cert, key);
        _current = X509Certificate2.CreateFromPem(Encoding.UTF8.GetString(cert), Encoding.UTF8.GetString(key));
    }

    /// <summary>The pair new handshakes get.</summary>
    public X509Certificate2 Current => Volatile.Read(ref _current);

    public long Reloads => Interlocked.Read(ref _reloads);

    public long Failures => Interlocked.Read(ref _failures);

    public string? LastError => Volatile.Read(ref _lastError);

    public string What => "the TLS certificate";

    public void Reload(bool forced) => TryReload(forced ? "SIGHUP" : "the files changed", forced);

    /// <summary>Loads the files if they changed (at once when forced); true when a new pair is serving.</summary>
    internal bool TryReload(string why, bool force)
    {
        lock (_gate)
        {
            bool read = TryReadFiles(out var cert, out var key, out string error);
            string found = read ? Digest(cert, key) : "unreadable: " + error;
            if (found == _loaded)
            {
                _seen = null;
                return false;
            }
            if (!force)
            {
                bool held = _seen == found;
                _seen = found;
                if (!held || found == _failed)
                    return false;
            }
            _seen = null;
            X509Certificate2? pair = null;
            if (!read || !TryLoad(cert, key, out pair, out error))
            {
                if (found != _failed)
                {
                    Interlocked.Increment(ref _failures);
                    Volatile.Write(ref _lastError, error);
                    LogRefused(_certPath, _keyPath, why, error, Current.SerialNumber);
                }
                _failed = found;
                return false;
            }
            var old = Interlocked.Exchange(ref _current, pair!);
            _loaded = found;
            _failed = null;
            Interlocked.Increment(ref _reloads);
            LogReloaded(why, pair!.SerialNumber, pair.NotAfter.ToUniversalTime(), old.SerialNumber);
            return true;
        }
    }

    private bool TryReadFiles(out byte[] cert, out byte[] key, out string error)
    {
        cert = key = [];
        if (BoundedFile.TryRead(_certPath, out error) is not { } c)
        {
            error = $"-cert {_certPath}: {error}";
            return false;
        }
        if (BoundedFile.TryRead(_keyPath, out error) is not { } k)
        {
            error = $"-key {_keyPath}: {error}";
            return false;
        }
        (cert, key) = (c, k);
        return true;
    }

    private static bool TryLoad(byte[] cert, byte[] key, out X509Certificate2? pair, out string error)
    {
        pair = null;
        try
        {
            // CreateFromPem also refuses a key that is not the certificate's.
            var loaded = X509Certificate2.CreateFromPem(Encoding.UTF8.GetString(cert), Encoding.UTF8.GetString(key));
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
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            error = e.Message;
            return false;
        }
    }

    // Both files' bytes, hashed together.
    private static string Digest(byte[] cert, byte[] key)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(cert);
        hash.AppendData([0]);
        hash.AppendData(key);
        return Convert.ToHexString(hash.GetHashAndReset());
    }

    [LoggerMessage(EventId = 151, Level = LogLevel.Information, Message = "TLS certificate reloaded ({Why}): serial {Serial}, valid until {NotAfter:u}; was {OldSerial}")]
    private partial void LogReloaded(string why, string serial, DateTime notAfter, string oldSerial);

    [LoggerMessage(EventId = 152, Level = LogLevel.Warning, Message = "TLS certificate {CertPath} / {KeyPath} not reloaded ({Why}): {Error}; still serving serial {Serial}")]
    private partial void LogRefused(string certPath, string keyPath, string why, string error, string serial);
}
