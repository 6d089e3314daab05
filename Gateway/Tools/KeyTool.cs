using System.Security.Cryptography;
using Polymur.Gateway.Configuration;
using Polymur.Gateway.Consul;
using Polymur.Gateway.Keys;
using Polymur.Gateway.Tenants;

namespace Polymur.Gateway.Tools;

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
        if (command is not ("list" or "create" or "regen" or "delete" or "limit"))
            return UsageError($"not a command: {command}");
        if (command == "limit" && (rest.Count is < 1 or > 3 || !KeyNames.IsValid(rest[0])))
            return UsageError("limit takes a key name, then RATE [BURST], none or default (or nothing, to show it)");
        if (command is not ("list" or "limit") && rest.Count != 1)
            return UsageError($"{command} takes one key name");
        TenantLimit? newLimit = null;
        if (command == "limit" && rest.Count > 1 && !TryLimitArgs(rest.Skip(1).ToList(), out newLimit, out string limitError))
            return UsageError(limitError);
        if (command == "list" && (rest.Count > 1 || (rest.Count == 1 && rest[0] is not ("names" or "all"))))
            return UsageError("list takes names or all");
        if (command is "create" && !KeyNames.IsValid(rest[0]))
            return UsageError($"invalid key name \"{rest[0]}\": {KeyNames.Rule}");
        if (!ConsulSettings.TryResolve(options, getEnv, out var settings, out string error))
            return UsageError(error);

        using var consul = new ConsulClient(settings!);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            return command switch
            {
                "list" => await ListAsync(consul, rest.Count == 0 ? "names" : rest[0], showKeys, timeout.Token),
                "create" => await CreateAsync(consul, rest[0], timeout.Token),
                "regen" => await RegenAsync(consul, rest[0], timeout.Token),
                "limit" => await LimitAsync(consul, rest[0], rest.Count > 1, newLimit, timeout.Token),
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

        async Task<int> ListAsync(ConsulClient kv, string what, bool show, CancellationToken cancel)
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

        async Task<int> CreateAsync(ConsulClient kv, string name, CancellationToken cancel)
        {
            string key = NewKey();
            // cas=0: written only if the name does not exist, so two operators cannot both create it.
            if (!await kv.PutAsync(kv.Settings.Prefix + name, key, cas: 0, cancel))
                return Failed($"Key {name} already exists");
            stdout.WriteLine($"Successfully registered {name} with key {key}");
            return 0;
        }

        async Task<int> RegenAsync(ConsulClient kv, string name, CancellationToken cancel)
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

        async Task<int> LimitAsync(ConsulClient kv, string name, bool set, TenantLimit? limit, CancellationToken cancel)
        {
            string path = ConsulLimitSource.PrefixFor(kv.Settings.Prefix) + name;
            if (set && limit is null)
            {
                await kv.DeleteAsync(path, cas: null, cancel);
                stdout.WriteLine($"Removed the limit of {name}: the default (-tenant-rate-limit) applies");
                return 0;
            }
            if (set)
            {
                await kv.PutAsync(path, limit!.ToJson(), cas: null, cancel);
                stdout.WriteLine($"Set the limit of {name} to {limit}");
                return 0;
            }
            var current = await kv.GetAsync(path, cancel);
            if (!current.Ok)
                return Failed(current.Error!);
            if (current.NotFound || current.Entries.Length == 0)
            {
                stdout.WriteLine($"{name}: no limit of its own; the default (-tenant-rate-limit) applies");
                return 0;
            }
            var value = current.Entries[0].Value ?? [];
            if (!TenantLimit.TryParse(value, out var stored, out string error))
                return Failed($"{path} holds a bad limit ({error}); the gateway keeps the last good limit it read for {name} (the default if it read none) until it is fixed");
            stdout.WriteLine($"{name}: {stored}");
            return 0;
        }

        async Task<int> DeleteAsync(ConsulClient kv, string name, CancellationToken cancel)
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

    // RATE [BURST] (points per second, points), "none" (no limit, whatever the default) or "default" (null: remove the entry).
    private static bool TryLimitArgs(List<string> args, out TenantLimit? limit, out string error)
    {
        limit = null;
        error = "";
        if (args is ["default"])
            return true;
        if (args is ["none"])
        {
            limit = TenantLimit.None;
            return true;
        }
        // The gateway's own check (TenantLimit.TryCheck), so the tool never writes a value the gateway would refuse.
        double? burst = args.Count == 2 && Number(args[1]) is { } b ? b : null;
        if (Number(args[0]) is not { } rate || rate <= 0 || (args.Count == 2 && burst is null))
        {
            error = $"not a limit: {string.Join(' ', args)} (RATE [BURST]: points per second and points, more than 0; or none, or default)";
            return false;
        }
        if (!TenantLimit.TryCheck(rate, burst, out string range))
        {
            error = $"not a limit: {string.Join(' ', args)}: {range}";
            return false;
        }
        limit = TenantLimit.Of(rate, burst);
        return true;
    }

    // A plain decimal number (1e3 too), never NaN or Infinity.
    private static double? Number(string text) =>
        double.TryParse(text, System.Globalization.NumberStyles.AllowDecimalPoint | System.Globalization.NumberStyles.AllowExponent, System.Globalization.CultureInfo.InvariantCulture, out double v) && double.IsFinite(v) ? v : null;

    /// <summary>128 bits from the operating system's CSPRNG, as 32 lowercase hex characters.</summary>
    public static string NewKey() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(KeyBytes));

    /// <summary>The commands, for the usage text, the man page and shell completion alike.</summary>
    public static readonly (string Name, string Arguments, string Help)[] Commands =
    [
        ("list", "[names|all] [--show-keys]", "show key names; \"all\" adds a short key prefix (the whole key with --show-keys)"),
        ("create", "<name>", "register a new key under <name> (refused if the name exists)"),
        ("regen", "<name>", "replace the key of an existing name"),
        ("delete", "<name>", "unregister <name>"),
        ("limit", "<name> [RATE [BURST]|none|default]", "show or set a tenant's quota in points/s, 0.001 to 1e9 (burst: points at once, 1 to 1e9, default one second's worth); none: no limit; default: -tenant-rate-limit applies"),
    ];

    /// <summary>Where the key tool finds Consul.</summary>
    public const string ConsulEnvironment = "CONSUL_HTTP_ADDR, CONSUL_HTTP_TOKEN(_FILE), CONSUL_CACERT, CONSUL_CLIENT_CERT/KEY, CONSUL_HTTP_SSL_VERIFY, and POLYMUR_GW_CONSUL_ADDR / POLYMUR_GW_CONSUL_PREFIX";

    private static string Usage(string program)
    {
        var sb = new System.Text.StringBuilder($"Usage: {program} <command>\n");
        foreach (var (name, arguments, help) in Commands)
        {
            string synopsis = $"  {name} {arguments}";
            sb.Append(synopsis.Length < 34 ? synopsis.PadRight(34) : synopsis + "\n" + new string(' ', 34)).Append(help).Append('\n');
        }
        sb.Append("Consul: ").Append(ConsulEnvironment).Append(".\n\n");
        return sb.ToString();
    }
}
