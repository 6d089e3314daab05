using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Polymur.Gateway.Spool;

/// <summary>Another process holds -spool-dir's lock (or it cannot be taken): the gateway does not start.</summary>
public sealed class SpoolLockedException(string message) : Exception(message);

/// <summary>
/// One process per -spool-dir: an exclusive <c>flock</c> on <c>-spool-dir/lock</c>, held for the process's life,
/// with its pid written in the file for the one that is refused. flock, not FileShare: the lock belongs to the
/// open file, is dropped by the kernel when the process dies however it dies (SIGKILL included), and never
/// outlives it as a stale pid file would.
/// </summary>
internal sealed partial class SpoolLock : IDisposable
{
    public const string FileName = "lock";
    private const int LockEx = 2, LockNb = 4, LockUn = 8, EWouldBlock = 11;
    private const int ORdwr = 2, OCreat = 0x40, OCloexec = 0x80000;

    private readonly SafeFileHandle _handle;

    private SpoolLock(SafeFileHandle handle) => _handle = handle;

    /// <summary>Takes the lock, or throws <see cref="SpoolLockedException"/> naming the dir and the holder's pid.</summary>
    public static SpoolLock Take(string spoolDir)
    {
        string path = Path.Combine(spoolDir, FileName);
        try
        {
            Directory.CreateDirectory(spoolDir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SpoolLockedException($"cannot use -spool-dir {spoolDir}: {e.Message}");
        }
        // open(2) directly: .NET's own open takes a shared flock of its own (FileShare emulation), which the
        // second process would trip over before it could read the holder's pid.
        int fd = Open(path, ORdwr | OCreat | OCloexec, 0x1a4 /* 0644 */);
        if (fd < 0)
            throw new SpoolLockedException($"cannot use -spool-dir {spoolDir}: {path}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        if (Flock(handle, LockEx | LockNb) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            string holder = ReadPid(handle) is { } pid ? $" (pid {pid})" : "";
            handle.Dispose();
            throw new SpoolLockedException(errno == EWouldBlock
                ? $"-spool-dir {spoolDir} is in use by another gateway{holder}; one process per spool directory"
                : $"cannot lock -spool-dir {spoolDir}: {Marshal.GetPInvokeErrorMessage(errno)}");
        }
        try
        {
            var pid = Encoding.ASCII.GetBytes($"{Environment.ProcessId}\n");
            RandomAccess.SetLength(handle, 0);
            RandomAccess.Write(handle, pid, 0);
        }
        catch (IOException)
        {
            // The lock is what counts; the pid is only a courtesy to whoever is refused.
        }
        return new SpoolLock(handle);
    }

    /// <summary>The pid written in a lock file, or null when it cannot be read.</summary>
    public static int? ReadPid(SafeFileHandle handle)
    {
        try
        {
            Span<byte> buffer = stackalloc byte[32];
            int read = RandomAccess.Read(handle, buffer, 0);
            return int.TryParse(Encoding.ASCII.GetString(buffer[..read]).Trim(), out int pid) ? pid : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    public void Dispose()
    {
        if (_handle.IsClosed)
            return;
        Flock(_handle, LockUn);
        _handle.Dispose();
    }

    private static int Flock(SafeFileHandle handle, int operation)
    {
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            return FlockNative((int)handle.DangerousGetHandle(), operation);
        }
        finally
        {
            if (added)
                handle.DangerousRelease();
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static partial int FlockNative(int fd, int operation);
}
