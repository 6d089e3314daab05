using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Polymur.Gateway.Primitives;

/// <summary>
/// Reads a small file the gateway was pointed at (a certificate, a key, a CA bundle, a token) so that no file can
/// hang or swell the process: it is opened with <c>O_NONBLOCK</c>, so a FIFO nobody writes does not block the
/// open; it must be a regular file once open (fstat), so a FIFO, a device such as /dev/zero, a socket or a
/// directory is refused before a byte is read; and at most <see cref="MaxBytes"/> are read, so a file that is
/// huge or grows while it is read is refused rather than buffered. A symbolic link is followed (Kubernetes
/// mounts secrets as links), but what it points at must be a regular file. A regular file on a hung network
/// mount can still block in read: callers at run time read on their own thread, never on a request's.
/// </summary>
internal static partial class BoundedFile
{
    /// <summary>4 MiB: a certificate chain or CA bundle is kilobytes; the system's whole CA bundle is about 200 KiB.</summary>
    public const int MaxBytes = 4 * 1024 * 1024;

    /// <summary>64 KiB for a token file: a token is tens of bytes; anything near this is not one.</summary>
    public const int MaxTokenBytes = 64 * 1024;

    private const int ORdonly = 0, OCloexec = 0x80000, ONonblock = 0x800, AtEmptyPath = 0x1000, ENoent = 2;
    private const uint StatxType = 0x1, StatxSize = 0x200;

    /// <summary>The file's bytes, or null with why not in <paramref name="error"/> (short, for a log line).</summary>
    public static byte[]? TryRead(string path, out string error, int maxBytes = MaxBytes)
    {
        int fd = Open(path, ORdonly | OCloexec | ONonblock);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            error = errno == ENoent ? "file not found" : Marshal.GetPInvokeErrorMessage(errno);
            return null;
        }
        using var handle = new SafeFileHandle(fd, ownsHandle: true);
        if (!TryFstat(fd, out int type, out long size))
        {
            error = Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError());
            return null;
        }
        if (type != 0x8000)
        {
            error = $"a {Describe(type)}, not a regular file";
            return null;
        }
        if (size > maxBytes)
        {
            error = $"{size} bytes, more than the {maxBytes / (1024 * 1024)} MiB a file read here may have";
            return null;
        }
        try
        {
            // One byte more than the cap, so a file that grew since fstat is seen and refused, never buffered.
            var buffer = new byte[Math.Min(maxBytes, (int)size) + 1];
            int total = 0, read;
            while (total < buffer.Length && (read = RandomAccess.Read(handle, buffer.AsSpan(total), total)) > 0)
                total += read;
            if (total > maxBytes)
            {
                error = $"more than the {maxBytes / (1024 * 1024)} MiB a file read here may have";
                return null;
            }
            error = "";
            return total == buffer.Length ? buffer : buffer[..total];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = e.Message;
            return null;
        }
    }

    /// <summary>The file's bytes; an <see cref="IOException"/> that says why not (the caller names the file).</summary>
    public static byte[] Read(string path, int maxBytes = MaxBytes) =>
        TryRead(path, out string error, maxBytes) ?? throw new IOException(error);

    /// <summary>The file as UTF-8 text (certificates, keys and tokens are ASCII).</summary>
    public static string ReadText(string path, int maxBytes = MaxBytes) => System.Text.Encoding.UTF8.GetString(Read(path, maxBytes));

    private static string Describe(int type) => type switch
    {
        0x1000 => "FIFO",
        0x2000 or 0x6000 => "device",
        0x4000 => "directory",
        0xC000 => "socket",
        _ => "special file",
    };

    private static unsafe bool TryFstat(int fd, out int type, out long size)
    {
        // struct statx is 256 bytes with the same layout on every architecture (unlike struct stat).
        byte* buffer = stackalloc byte[256];
        if (Statx(fd, "", AtEmptyPath, StatxType | StatxSize, buffer) != 0)
        {
            type = 0;
            size = 0;
            return false;
        }
        var span = new ReadOnlySpan<byte>(buffer, 256);
        type = BinaryPrimitives.ReadUInt16LittleEndian(span[28..]) & 0xF000;
        size = (long)BinaryPrimitives.ReadUInt64LittleEndian(span[40..]);
        return true;
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int Statx(int dirfd, string path, int flags, uint mask, byte* buffer);
}
