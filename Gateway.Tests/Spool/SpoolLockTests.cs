using Microsoft.Extensions.Logging.Abstractions;
using Polymur.Gateway.Spool;

namespace Polymur.Gateway.Tests.Spool;

/// <summary>The spool dir's lock within one process: a flock belongs to an open file, so a second SpoolSet is refused too, and the lock goes with the first.</summary>
public class SpoolLockTests
{
    [Test]
    public async Task A_second_spool_set_on_one_dir_is_refused_with_the_holders_pid_and_the_lock_goes_with_the_first()
    {
        string root = Directory.CreateTempSubdirectory("pgw-spoollock-").FullName;
        var first = new SpoolSet(root, 1 << 30, new SpoolSettings(), NullLogger<SpoolSet>.Instance);

        int? pidInFile;
        var refused = Assert.Throws<SpoolLockedException>(() => new SpoolSet(root, 1 << 30, new SpoolSettings(), NullLogger<SpoolSet>.Instance));
        // Read as the refused process does: .NET's own File.Read* would trip over .NET's shared flock emulation.
        using (var handle = SpoolFiles.OpenRegular(Path.Combine(root, SpoolLock.FileName), out _, out _)!)
            pidInFile = SpoolLock.ReadPid(handle);
        await first.DisposeAsync();
        await using var after = new SpoolSet(root, 1 << 30, new SpoolSettings(), NullLogger<SpoolSet>.Instance);

        await Assert.That(refused.Message).Contains(root);
        await Assert.That(refused.Message).Contains($"pid {Environment.ProcessId}");
        await Assert.That(pidInFile).IsEqualTo(Environment.ProcessId);
    }
}
