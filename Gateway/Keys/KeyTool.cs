using System.Security.Cryptography;
using Polymur.Gateway.Configuration;

namespace Polymur.Gateway.Keys;

/// <summary>
/// <c>polymur-gateway keys …</c> (or the binary run as <c>pgw-key …</c>): list, create, regen and delete API
/// keys in Consul, with the messages scripts around pgw-key already parse. Keys are 128 bits from a CSPRNG, in
/// hex, so one cannot be guessed from when it was made.
/// </summary>
internal static class KeyTool
{
    private const int KeyBytes = 16;

    public static async Task<int> RunAsync(string program, IReadOnlyList<string> args, GatewayOptions options, Func<string, string?> getEnv, TextWriter stdout, TextWriter stderr)
    {
        if (args.Count == 0 || args[0] is "-h" or "--help" or "help")
        {
            (args.Count == 0 ? stderr : stdout).Write(Usage(program));
            return args.Count == 0 ? CommandLine.UsageExitCode : 0;
        }
        string command = args[0];
        var rest = args.Skip(1).ToList();
        bool showKeys = rest.Remove("--show-keys");
        if (command is not ("list" or "create" or "regen" or "delete"))
            return UsageError($"not a command: {command}");
        if (command != "list" && rest.Count != 1)
            return UsageError($"{command} takes one key name");
        if (command == "list" && (rest.Count > 1 || (rest.Count == 1 && rest[0] is not ("names" or "all"))))
            return UsageError("list takes names or all");
        if (command is "create" && !KeyNames.IsValid(rest[0]))
            return UsageError($"invalid key name \"{rest[0]}\": {KeyNames.Rule}");
        if (!ConsulSettings.TryResolve(options, getEnv, out var settings, out string error))
            return UsageError(error);

        using var consul = new ConsulKvClient(settings!);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            return command switch
            {
                "list" => await ListAsync(consul, rest.Count == 0 ? "names" : rest[0], showKeys, timeout.Token),
                "create" => await CreateAsync(consul, rest[0], timeout.Token),
                "regen" => await RegenAsync(consul, rest[0], timeout.Token),
                _ => await DeleteAsync(consul, rest[0], timeout.Token),
            };
        }
        catch (ConsulException e)
        {
            return Failed(e.Message);
        }

        int UsageError(string message)
        {
            stderr.WriteLine($"{program}: {message}");
            stderr.Write(Usage(program));
            return CommandLine.UsageExitCode;
        }

        int Failed(string message)
        {
            stderr.WriteLine($"{program}: {message}");
            return 1;
        }

        async Task<int> ListAsync(ConsulKvClient kv, string what, bool show, CancellationToken cancel)
        {
            var result = await kv.ListAsync(kv.Settings.Prefix, 0, TimeSpan.Zero, cancel);
            if (!result.Ok)
                return Failed(result.Error!);
            var keys = ConsulKeySet.From(result.Entries, kv.Settings.Prefix);
            var values = result.Entries.ToDictionary(e => e.Key, e => e.Value is null ? "" : System.Text.Encoding.UTF8.GetString(e.Value).Trim());
            foreach (var name in keys.Names.Keys.Order(StringComparer.Ordinal))
            {
                string key = values[keys.Names[name].Path];
                stdout.WriteLine(what == "names" ? name : $"{name}: {(show ? key : KeyRedaction.Redact(key))}");
            }
            foreach (var problem in keys.Problems)
                stderr.WriteLine($"{program}: warning: {problem}");
            return 0;
        }

        async Task<int> CreateAsync(ConsulKvClient kv, string name, CancellationToken cancel)
        {
            string key = NewKey();
            // cas=0: written only if the name does not exist, so two operators cannot both create it.
            if (!await kv.PutAsync(kv.Settings.Prefix + name, key, cas: 0, cancel))
                return Failed($"Key {name} already exists");
            stdout.WriteLine($"Successfully registered {name} with key {key}");
            return 0;
        }

        async Task<int> RegenAsync(ConsulKvClient kv, string name, CancellationToken cancel)
        {
            var current = await kv.GetAsync(kv.Settings.Prefix + name, cancel);
            if (!current.Ok)
                return Failed(current.Error!);
            if (current.NotFound || current.Entries.Length == 0)
                return Failed($"Key {name} doesn't exist");
            string key = NewKey();
            if (!await kv.PutAsync(kv.Settings.Prefix + name, key, cas: current.Entries[0].ModifyIndex, cancel))
                return Failed($"Key {name} changed while regenerating it; nothing was written, try again");
            stdout.WriteLine($"Successfully regenerated {name} with key {key}");
            return 0;
        }

        async Task<int> DeleteAsync(ConsulKvClient kv, string name, CancellationToken cancel)
        {
            var current = await kv.GetAsync(kv.Settings.Prefix + name, cancel);
            if (!current.Ok)
                return Failed(current.Error!);
            if (current.NotFound || current.Entries.Length == 0)
                return Failed($"Key {name} doesn't exist");
            await kv.DeleteAsync(kv.Settings.Prefix + name, cas: null, cancel);
            stdout.WriteLine($"Successfully deleted {name}");
            return 0;
        }
    }

    /// <summary>128 bits from the operating system's CSPRNG, as 32 lowercase hex characters.</summary>
    public static string NewKey() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(KeyBytes));

    private static string Usage(string program) => $"""
        Usage: {program} <command>
          list [names|all] [--show-keys]  show key names; "all" adds a short key prefix (the whole key with --show-keys)
          create <name>                   register a new key under <name> (refused if the name exists)
          regen <name>                    replace the key of an existing name
          delete <name>                   unregister <name>
        Consul: CONSUL_HTTP_ADDR, CONSUL_HTTP_TOKEN(_FILE), CONSUL_CACERT, CONSUL_CLIENT_CERT/KEY,
        CONSUL_HTTP_SSL_VERIFY, and POLYMUR_GW_CONSUL_ADDR / POLYMUR_GW_CONSUL_PREFIX.

        """;
}
