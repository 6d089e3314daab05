using System.Text;

namespace Polymur.Gateway.Routing;

/// <summary>
/// Python's repr() of a str, which carbon_ch hashes as part of <c>str((server, instance))</c>: single quotes,
/// or double quotes when the text holds a single quote and no double one; backslashes and controls escaped.
/// </summary>
internal static class PythonRepr
{
    public static string Of(string? value)
    {
        if (value is null)
            return "None";
        char quote = value.Contains('\'') && !value.Contains('"') ? '"' : '\'';
        var sb = new StringBuilder().Append(quote);
        foreach (char c in value)
        {
            switch (c)
            {
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (c == quote)
                        sb.Append('\\').Append(c);
                    else if (c < 0x20 || c == 0x7F)
                        sb.Append($"\\x{(int)c:x2}");
                    else
                        sb.Append(c);
                    break;
            }
        }
        return sb.Append(quote).ToString();
    }
}
