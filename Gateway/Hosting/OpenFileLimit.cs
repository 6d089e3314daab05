namespace Polymur.Gateway.Hosting;

/// <summary>The process's soft open-file limit, as the kernel reports it, so a -max-connections past it is said at start.</summary>
internal static class OpenFileLimit
{
    /// <summary>Descriptors the gateway needs besides ingest connections: listeners, destinations, Consul, logs.</summary>
    public const int Reserve = 64;

    /// <summary>The soft limit, or null when /proc does not say (or says unlimited).</summary>
    public static long? Read()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/self/limits"))
            {
                if (!line.StartsWith("Max open files", StringComparison.Ordinal))
                    continue;
                var fields = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return fields.Length > 0 && long.TryParse(fields[0], out long soft) ? soft : null;
            }
        }
        catch (IOException)
        {
        }
        return null;
    }
}
