using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Reliability;

/// <summary>Every input make fuzz has kept (fuzz/corpus) still passes the targets' invariants: the corpus as regression tests.</summary>
public class FuzzCorpusTests
{
    [Test]
    [Arguments("lines")]
    [Arguments("gzip")]
    public async Task The_committed_corpus_keeps_every_invariant(string target)
    {
        var files = Directory.GetFiles(Path.Combine(GatewayProcess.RepoRoot, "fuzz", "corpus", target));
        foreach (var file in files)
        {
            var data = await File.ReadAllBytesAsync(file);
            if (target == "gzip")
                FuzzTargets.GzipToLines(data);
            else
                FuzzTargets.Lines(data);
        }
        await Assert.That(files.Length).IsGreaterThan(2);
    }
}
