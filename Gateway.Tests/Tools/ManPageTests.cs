using System.Diagnostics;
using System.Text.RegularExpressions;
using Polymur.Gateway.Configuration;
using Polymur.Gateway.Tools;

namespace Polymur.Gateway.Tests.Tools;

/// <summary>The man pages and the bash completion, checked through man(1) and bash themselves.</summary>
public partial class ManPageTests
{
    [GeneratedRegex(@"\s+")]
    private static partial Regex Space();

    private static string Flat(string text) => Space().Replace(text, " ");

    private static async Task<(string Out, string Err)> RunAsync(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        info.Environment["LC_ALL"] = "C";
        info.Environment["MANWIDTH"] = "100";
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (await output, await error);
    }

    private static async Task<string> RenderAsync(string page)
    {
        string path = Path.Combine(Directory.CreateTempSubdirectory("pgw-man-").FullName, "page.8");
        await File.WriteAllTextAsync(path, page);
        var (text, warnings) = await RunAsync("man", "--warnings", "-l", path);
        await Assert.That(warnings).IsEmpty();
        return Flat(text);
    }

    [Test]
    public async Task The_gateway_page_says_of_every_flag_what_dash_h_says()
    {
        string page = await RenderAsync(ManPages.Gateway("1.2.3"));
        string help = CommandLine.HelpText();

        foreach (var flag in Flags.All)
        {
            // -h's two lines for the flag: "-name kind" and "help [ENV] (default ...)".
            string entry = help[help.IndexOf($"\n  -{flag.Name}", StringComparison.Ordinal)..];
            var lines = entry.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            await Assert.That(page).Contains(Flat(lines[0].Trim()) + " " + Flat(lines[1].Trim())).Because(flag.Name);
        }
        await Assert.That(page).Contains("polymur-gateway 1.2.3");
        await Assert.That(page).Contains("SIGHUP");
        await Assert.That(page).Contains("top [--once] [-stat-addr host:port]");
    }

    [Test]
    public async Task The_key_tool_page_lists_every_command_its_usage_lists()
    {
        string page = await RenderAsync(ManPages.KeyTool("1.2.3"));

        foreach (var (name, arguments, help) in KeyTool.Commands)
            await Assert.That(page).Contains(Flat($"{name} {arguments} {help}")).Because(name);
        await Assert.That(page).Contains("CONSUL_HTTP_ADDR");
    }

    [Test]
    [Arguments("polymur-gateway -listen-t", "-listen-tcp-addr -listen-tcp-port")]
    [Arguments("polymur-gateway -distribution jump", "jump_fnv1a_ch")]
    [Arguments("polymur-gateway --log-format j", "journal json")]
    [Arguments("polymur-gateway -client-auth ", "none optional require")]
    [Arguments("polymur-gateway k", "keys")]
    [Arguments("polymur-gateway t", "top")]
    [Arguments("polymur-gateway top --o", "--once")]
    [Arguments("polymur-gateway keys re", "regen")]
    [Arguments("pgw-key l", "limit list")]
    [Arguments("pgw-key list ", "--show-keys all")]
    [Arguments("pgw-key limit acme ", "default none")]
    public async Task Bash_completes_flags_values_and_commands(string line, string expected)
    {
        string script = Path.Combine(Directory.CreateTempSubdirectory("pgw-completion-").FullName, "polymur-gateway");
        await File.WriteAllTextAsync(script, BashCompletion.Script());
        var words = line.Split(' ');
        string function = words[0] == "pgw-key" ? "_pgw_key" : "_polymur_gateway";
        string quoted = string.Join(' ', words.Select(w => $"'{w}'"));
        var (output, error) = await RunAsync("bash", "-c", $"source '{script}'; COMP_WORDS=({quoted}); COMP_CWORD={words.Length - 1}; {function}; printf '%s\\n' \"${{COMPREPLY[@]}}\" | sort | tr '\\n' ' '");

        await Assert.That(error).IsEmpty();
        await Assert.That(output.Trim()).IsEqualTo(expected);
    }

    [Test]
    public async Task Every_choice_completion_offers_is_a_value_the_flag_takes()
    {
        foreach (var flag in Flags.All.Where(f => f.Choices.Count > 0))
        {
            foreach (var choice in flag.Choices)
            {
                var result = CommandLine.Parse([], name => name switch
                {
                    _ when name == flag.EnvVar => choice,
                    "POLYMUR_GW_CONSUL_REGISTER" => "true",
                    _ => null,
                });
                // A choice may need other flags (cluster needs -consul-register, client-auth a CA), never a different spelling.
                await Assert.That(result.Error ?? "").DoesNotContain($"invalid value \"{choice}\"").Because($"{flag.Name} {choice}");
            }
        }
    }
}
