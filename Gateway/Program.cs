using Polymur.Gateway.Consul;
using Polymur.Gateway.Hosting;
using Polymur.Gateway;
using Polymur.Gateway.Configuration;
using Polymur.Gateway.Keys;
using Polymur.Gateway.Tools;

// Installed as pgw-key too (a link to this binary): then every argument belongs to the key tool.
string invokedAs = InvokedAs();
if (invokedAs == "pgw-key")
{
    var envOnly = CommandLine.Parse([], Environment.GetEnvironmentVariable);
    if (envOnly.Kind == CommandKind.Error)
    {
        Console.Error.WriteLine($"pgw-key: {envOnly.Error}");
        return CommandLine.UsageExitCode;
    }
    return await KeyTool.RunAsync("pgw-key", args, envOnly.Options!, Environment.GetEnvironmentVariable, Console.Out, Console.Error);
}

if (args.Length > 0 && args[0] == "top")
    return await Polymur.Gateway.Top.TopCommand.RunAsync(args[1..], Environment.GetEnvironmentVariable);

var parsed = CommandLine.Parse(args, Environment.GetEnvironmentVariable);
switch (parsed.Kind)
{
    case CommandKind.Help:
        Console.Out.Write(CommandLine.HelpText());
        return 0;
    case CommandKind.EnvFile:
        Console.Out.Write(CommandLine.EnvFileText());
        return 0;
    case CommandKind.HelpEnv:
        Console.Out.Write(CommandLine.EnvTable());
        return 0;
    case CommandKind.Man:
        string version = typeof(GatewayApp).Assembly.GetName().Version?.ToString(3) ?? "";
        Console.Out.Write(parsed.Topic == "pgw-key" ? ManPages.KeyTool(version) : ManPages.Gateway(version));
        return 0;
    case CommandKind.Completion:
        Console.Out.Write(BashCompletion.Script());
        return 0;
    case CommandKind.Version:
        Console.Out.WriteLine($"polymur-gateway {typeof(GatewayApp).Assembly.GetName().Version?.ToString(3)}");
        return 0;
    case CommandKind.Error:
        Console.Error.WriteLine($"polymur-gateway: {parsed.Error}");
        return CommandLine.UsageExitCode;
}
if (parsed.Positionals.Count > 0 && parsed.Positionals[0] == "spool")
{
    using var stdout = Console.OpenStandardOutput();
    return Polymur.Gateway.Spool.SpoolTool.Run([.. parsed.Positionals.Skip(1)], stdout, Console.Error);
}
if (parsed.Positionals.Count > 0 && parsed.Positionals[0] == "keys")
    return await KeyTool.RunAsync("polymur-gateway keys", [.. parsed.Positionals.Skip(1)], parsed.Options!, Environment.GetEnvironmentVariable, Console.Out, Console.Error);
if (parsed.Positionals.Count > 0)
{
    Console.Error.WriteLine($"polymur-gateway: unexpected argument \"{parsed.Positionals[0]}\" (see -help)");
    return CommandLine.UsageExitCode;
}

var options = parsed.Options!;
ConsulSettings? consul = null;
if ((!options.DevMode || options.ConsulRegister) && !ConsulSettings.TryResolve(options, Environment.GetEnvironmentVariable, out consul, out string consulError))
{
    Console.Error.WriteLine($"polymur-gateway: {consulError}");
    return CommandLine.UsageExitCode;
}

GatewayApp app;
try
{
    app = GatewayApp.Create(options, new GatewayAppSettings { Consul = consul });
}
catch (System.Security.Cryptography.CryptographicException e)
{
    Console.Error.WriteLine($"polymur-gateway: cannot load -cert/-key (POLYMUR_GW_CERT/POLYMUR_GW_KEY): {e.Message}");
    return CommandLine.UsageExitCode;
}
catch (Polymur.Gateway.Spool.SpoolLockedException e)
{
    Console.Error.WriteLine($"polymur-gateway: {e.Message}");
    return CommandLine.UsageExitCode;
}
await using (app)
{
    try
    {
        return await app.RunAsync();
    }
    catch (IOException e) when (e.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException || e.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
    {
        Console.Error.WriteLine($"polymur-gateway: cannot listen: {e.Message}");
        return 1;
    }
}

// argv[0] as the kernel has it (the link's name); under the JIT host GetCommandLineArgs()[0] is the .dll instead.
static string InvokedAs()
{
    try
    {
        var cmdline = File.ReadAllBytes("/proc/self/cmdline");
        int end = Array.IndexOf(cmdline, (byte)0);
        return Path.GetFileName(System.Text.Encoding.UTF8.GetString(cmdline, 0, end < 0 ? cmdline.Length : end));
    }
    catch (IOException)
    {
        return Path.GetFileName(Environment.GetCommandLineArgs()[0]);
    }
}
