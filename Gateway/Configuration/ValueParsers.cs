using System.Globalization;

namespace Polymur.Gateway.Configuration;

/// <summary>Strict parsers for flag values: a value that does not parse is an error, never a default.</summary>
internal static class ValueParsers
{
    public static bool TryParsePort(string text, out int port) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is >= 0 and <= 65535;

    /// <summary>Go's strconv.ParseBool spellings, which deployed configurations already use.</summary>
    public static bool TryParseBool(string text, out bool value)
    {
        switch (text)
        {
            case "1" or "t" or "T" or "true" or "TRUE" or "True":
                value = true;
                return true;
            case "0" or "f" or "F" or "false" or "FALSE" or "False":
                value = false;
                return true;
            default:
                value = false;
                return false;
        }
    }

    /// <summary>Bytes, as a plain number or with a binary suffix: 65536, 64KiB, 8MiB, 1GiB (K, M, G also mean KiB, MiB, GiB).</summary>
    public static bool TryParseSize(string text, out long bytes)
    {
        bytes = 0;
        text = text.Trim();
        int i = 0;
        while (i < text.Length && char.IsAsciiDigit(text[i]))
            i++;
        if (i == 0 || !long.TryParse(text.AsSpan(0, i), NumberStyles.None, CultureInfo.InvariantCulture, out long n))
            return false;
        long unit = text[i..] switch
        {
            "" or "B" => 1,
            "K" or "KB" or "KiB" => 1L << 10,
            "M" or "MB" or "MiB" => 1L << 20,
            "G" or "GB" or "GiB" => 1L << 30,
            _ => 0,
        };
        if (unit == 0 || n > long.MaxValue / unit)
            return false;
        bytes = n * unit;
        return true;
    }

    public static string FormatSize(long bytes) => bytes switch
    {
        0 => "0",
        _ when bytes % (1L << 30) == 0 => $"{bytes >> 30}GiB",
        _ when bytes % (1L << 20) == 0 => $"{bytes >> 20}MiB",
        _ when bytes % (1L << 10) == 0 => $"{bytes >> 10}KiB",
        _ => bytes.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>Go duration syntax, as Consul and Go tools use: 300ms, 10s, 1m30s, 2h. A bare number is refused.</summary>
    public static bool TryParseDuration(string text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        if (text == "0")
            return true;
        double totalMs = 0;
        int i = 0;
        if (text.Length == 0)
            return false;
        while (i < text.Length)
        {
            int start = i;
            while (i < text.Length && (char.IsAsciiDigit(text[i]) || text[i] == '.'))
                i++;
            if (i == start || !double.TryParse(text.AsSpan(start, i - start), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double n))
                return false;
            int unitStart = i;
            while (i < text.Length && char.IsAsciiLetter(text[i]))
                i++;
            double scale = text[unitStart..i] switch
            {
                "ns" => 1e-6,
                "us" or "µs" => 1e-3,
                "ms" => 1,
                "s" => 1000,
                "m" => 60_000,
                "h" => 3_600_000,
                _ => -1,
            };
            if (scale < 0)
                return false;
            totalMs += n * scale;
        }
        if (totalMs > TimeSpan.MaxValue.TotalMilliseconds)
            return false;
        value = TimeSpan.FromMilliseconds(totalMs);
        return true;
    }

    public static string FormatDuration(TimeSpan value)
    {
        if (value == TimeSpan.Zero)
            return "0s";
        if (value.TotalMilliseconds % 1000 != 0)
            return $"{value.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)}ms";
        var s = (long)value.TotalSeconds;
        return s % 3600 == 0 ? $"{s / 3600}h" : s % 60 == 0 ? $"{s / 60}m" : $"{s}s";
    }
}
