using Polymur.Gateway;
using Polymur.Gateway.Configuration;

var parsed = CommandLine.Parse(args, Environment.GetEnvironmentVariable);
switch (parsed.Kind)
{
    case CommandKind.Help:
        Console.Out.Write(CommandLine.HelpText());
        return 0;
    case CommandKind.HelpEnv:
        Console.Out.Write(CommandLine.EnvTable());
        return 0;
    case CommandKind.Version:
        Console.Out.WriteLine($"polymur-gateway {typeof(GatewayApp).Assembly.GetName().Version?.ToString(3)}");
        return 0;
    case CommandKind.Error:
        Console.Error.WriteLine($"polymur-gateway: {parsed.Error}");
        return CommandLine.UsageExitCode;
}
if (parsed.Positionals.Count > 0)
{
    Console.Error.WriteLine($"polymur-gateway: unexpected argument \"{parsed.Positionals[0]}\" (see -help)");
    return CommandLine.UsageExitCode;
}

GatewayApp app;
try
{
    app = GatewayApp.Create(parsed.Options!, new GatewayAppSettings());
}
catch (System.Security.Cryptography.CryptographicException e)
{
    Console.Error.WriteLine($"polymur-gateway: cannot load -cert/-key (POLYMUR_GW_CERT/POLYMUR_GW_KEY): {e.Message}");
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
