using Polymur.Gateway.Configuration;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Configuration;

public class ReadmeTests
{
    [Test]
    public async Task Readme_flag_table_is_the_help_table()
    {
        string readme = await File.ReadAllTextAsync(Path.Combine(GatewayProcess.RepoRoot, "README.md"));
        int begin = readme.IndexOf("<!-- flags:begin -->\n", StringComparison.Ordinal);
        int end = readme.IndexOf("<!-- flags:end -->", StringComparison.Ordinal);
        await Assert.That(begin).IsGreaterThanOrEqualTo(0);
        string table = readme[(begin + "<!-- flags:begin -->\n".Length)..end];

        // To refresh: polymur-gateway --help-env, pasted between the markers.
        await Assert.That(table).IsEqualTo(CommandLine.EnvTable());
    }
}
