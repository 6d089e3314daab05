using Polymur.Gateway.Primitives;

namespace Polymur.Gateway.Tests.Primitives;

/// <summary>What a file the gateway is pointed at may be: a regular file (or a link to one) of at most 4 MiB.</summary>
public partial class BoundedFileTests
{
    private static string TempDir() => Directory.CreateTempSubdirectory("pgw-bounded-").FullName;

    [Test]
    public async Task A_regular_file_and_a_link_to_one_are_read()
    {
        string dir = TempDir();
        string path = Path.Combine(dir, "cert.pem"), link = Path.Combine(dir, "link.pem");
        File.WriteAllText(path, "hello");
        File.CreateSymbolicLink(link, path); // how Kubernetes mounts a secret
        await Assert.That(BoundedFile.TryRead(path, out _)).IsEquivalentTo("hello"u8.ToArray());
        await Assert.That(BoundedFile.TryRead(link, out _)).IsEquivalentTo("hello"u8.ToArray());
        File.WriteAllText(path, "");
        await Assert.That(BoundedFile.TryRead(path, out string error)!.Length).IsEqualTo(0);
        await Assert.That(error).IsEqualTo("");
        Directory.Delete(dir, recursive: true);
    }

    [Test]
    public async Task A_fifo_is_refused_at_once_not_waited_on()
    {
        string dir = TempDir();
        string fifo = Path.Combine(dir, "cert.pem");
        await Assert.That(Mkfifo(fifo, 0x180)).IsEqualTo(0);
        // On a thread of its own, so the old way (a blocking open) fails the test instead of hanging it.
        var read = Task.Factory.StartNew(() => (BoundedFile.TryRead(fifo, out string e), e), TaskCreationOptions.LongRunning);
        await Assert.That(await Support.Poll.FinishesAsync(read, TimeSpan.FromSeconds(10))).IsTrue();
        await Assert.That(read.Result.Item1).IsNull();
        await Assert.That(read.Result.e).IsEqualTo("a FIFO, not a regular file");
        Directory.Delete(dir, recursive: true);
    }

    [Test]
    public async Task A_device_or_a_link_to_one_is_refused()
    {
        string dir = TempDir();
        string link = Path.Combine(dir, "cert.pem");
        File.CreateSymbolicLink(link, "/dev/zero");
        await Assert.That(BoundedFile.TryRead("/dev/zero", out string direct)).IsNull();
        await Assert.That(direct).IsEqualTo("a device, not a regular file");
        await Assert.That(BoundedFile.TryRead(link, out string linked)).IsNull();
        await Assert.That(linked).IsEqualTo("a device, not a regular file");
        await Assert.That(BoundedFile.TryRead(dir, out string directory)).IsNull();
        await Assert.That(directory).IsEqualTo("a directory, not a regular file");
        Directory.Delete(dir, recursive: true);
    }

    [Test]
    public async Task A_file_over_the_cap_is_refused_unread_and_a_missing_one_says_so()
    {
        string dir = TempDir();
        string big = Path.Combine(dir, "big.pem");
        using (var f = File.Create(big))
            f.SetLength(BoundedFile.MaxBytes + 1L); // sparse: the size is what counts
        await Assert.That(BoundedFile.TryRead(big, out string error)).IsNull();
        await Assert.That(error).Contains("more than the 4 MiB");
        string exact = Path.Combine(dir, "exact.pem");
        using (var f = File.Create(exact))
            f.SetLength(BoundedFile.MaxBytes);
        await Assert.That(BoundedFile.TryRead(exact, out _)!.Length).IsEqualTo(BoundedFile.MaxBytes);
        await Assert.That(BoundedFile.TryRead(Path.Combine(dir, "none"), out string missing)).IsNull();
        await Assert.That(missing).IsEqualTo("file not found");
        await Assert.That(() => BoundedFile.Read(big)).Throws<IOException>();
        Directory.Delete(dir, recursive: true);
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "mkfifo", StringMarshalling = System.Runtime.InteropServices.StringMarshalling.Utf8)]
    private static partial int Mkfifo(string path, uint mode);
}
