using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Polymur.Gateway.Spool;

/// <summary>What a directory entry is, as the kernel says (never following a symbolic link).</summary>
internal enum EntryKind
{
    Regular,
    Directory,
    Symlink,
    Fifo,
    Device,
    Socket,
    Missing,
    Unknown,
}

/// <summary>An entry's type, its size, the bytes it takes on disk (less than the size when it is sparse), and its links.</summary>
internal readonly record struct FileFacts(EntryKind Kind, long Size, long Allocated, long Links)
{
    /// <summary>What counts against -spool-max-size: the disk it really takes, never more than its size.</summary>
    public long DiskBytes => Math.Min(Size, Allocated);
}

/// <summary>
/// Opens spool files the way .NET cannot: <c>O_NOFOLLOW|O_NONBLOCK</c>, so a FIFO named like a segment neither
/// blocks the start nor is read, a symbolic link is not followed, and the type is checked (statx) before a byte
/// is read. Linux only, as the gateway is.
/// </summary>
internal static partial class SpoolFiles
{
    private const int AtFdCwd = -100, AtSymlinkNoFollow = 0x100, AtEmptyPath = 0x1000;
    private const uint StatxBasicStats = 0x7ff;
    private const int OCloexec = 0x80000, ONonblock = 0x800;
    private const int ELoop = 40, ENoent = 2;

    // O_NOFOLLOW differs between architectures (asm-generic vs x86).
    private static int ONoFollow => RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? 0x8000 : 0x20000;

    /// <summary>
    /// Opens <paramref name="path"/> for reading if it is a regular file; otherwise null, with what it is in
    /// <paramref name="facts"/> and why in <paramref name="error"/> (permission denied, a FIFO, a directory…).
    /// </summary>
    public static SafeFileHandle? OpenRegular(string path, out FileFacts facts, out string? error)
    {
        facts = Lstat(path);
        int fd = Open(path, OCloexec | ONonblock | ONoFollow);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            facts = facts with { Kind = errno switch { ENoent => EntryKind.Missing, ELoop => EntryKind.Symlink, _ when facts.Kind == EntryKind.Missing => EntryKind.Unknown, _ => facts.Kind } };
            error = errno == ENoent ? "no such file" : Marshal.GetPInvokeErrorMessage(errno);
            return null;
        }
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        facts = Fstat(handle);
        if (facts.Kind != EntryKind.Regular)
        {
            handle.Dispose();
            error = $"a {Describe(facts.Kind)}, not a file";
            return null;
        }
        error = null;
        return handle;
    }

    /// <summary>The entry itself (a link is not followed); Missing when it cannot be looked at.</summary>
    public static FileFacts Lstat(string path) => Statx(AtFdCwd, path, AtSymlinkNoFollow);

    public static FileFacts Fstat(SafeFileHandle handle)
    {
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            return Statx((int)handle.DangerousGetHandle(), "", AtEmptyPath);
        }
        finally
        {
            if (added)
                handle.DangerousRelease();
        }
    }

    /// <summary>
    /// What went wrong, as the kernel says it: .NET's own messages are resource keys in this build
    /// (UseSystemResourceKeys), so EACCES is spelled out here and an errno in HResult is turned into its text.
    /// </summary>
    public static string Reason(Exception e) => e switch
    {
        UnauthorizedAccessException => "Permission denied",
        IOException { HResult: > 0 and < 4096 } io when !io.Message.Contains(' ') || io.Message.Contains('_') => Marshal.GetPInvokeErrorMessage(io.HResult),
        _ => e.Message,
    };

    public static string Describe(EntryKind kind) => kind switch
    {
        EntryKind.Regular => "file",
        EntryKind.Directory => "directory",
        EntryKind.Symlink => "symbolic link",
        EntryKind.Fifo => "FIFO",
        EntryKind.Device => "device",
        EntryKind.Socket => "socket",
        EntryKind.Missing => "missing entry",
        _ => "special file",
    };

    private static unsafe FileFacts Statx(int dirfd, string path, int flags)
    {
        // struct statx is 256 bytes with the same layout on every architecture (unlike struct stat).
        byte* buffer = stackalloc byte[256];
        if (StatxNative(dirfd, path, flags, StatxBasicStats, buffer) != 0)
            return new FileFacts(EntryKind.Missing, 0, 0, 0);
        var span = new ReadOnlySpan<byte>(buffer, 256);
        uint links = BinaryPrimitives.ReadUInt32LittleEndian(span[16..]);
        int mode = BinaryPrimitives.ReadUInt16LittleEndian(span[28..]);
        long size = (long)BinaryPrimitives.ReadUInt64LittleEndian(span[40..]);
        long blocks = (long)BinaryPrimitives.ReadUInt64LittleEndian(span[48..]);
        var kind = (mode & 0xF000) switch
        {
            0x8000 => EntryKind.Regular,
            0x4000 => EntryKind.Directory,
            0xA000 => EntryKind.Symlink,
            0x1000 => EntryKind.Fifo,
            0x2000 or 0x6000 => EntryKind.Device,
            0xC000 => EntryKind.Socket,
            _ => EntryKind.Unknown,
        };
        return new FileFacts(kind, size, blocks * 512, links);
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int StatxNative(int dirfd, string path, int flags, uint mask, byte* buffer);
}
