using System.Text;
using Polymur.Gateway.Configuration;

namespace Polymur.Gateway.Tools;

/// <summary>
/// polymur-gateway(8) and pgw-key(8), written from the flag table and the key tool's command table, the same
/// ones -h and the key tool's usage print, so the manual cannot say something the binary does not do.
/// The .deb build writes them with <c>--man</c> and <c>--man=pgw-key</c>.
/// </summary>
internal static class ManPages
{
    public static string Gateway(string version)
    {
        var sb = Header("POLYMUR-GATEWAY", version);
        sb.Append(".SH NAME\npolymur\\-gateway \\- receive Graphite metrics from polymur\\-proxy over HTTP(S) and fan them out to carbon\n");
        sb.Append(".SH SYNOPSIS\n.B polymur\\-gateway\n[\\fIflags\\fR]\n.br\n.B polymur\\-gateway keys\n\\fIcommand\\fR ...\n.br\n.B polymur\\-gateway spool\n\\fIcommand\\fR ...\n.br\n.B polymur\\-gateway top\n[\\fB\\-\\-once\\fR]\n");
        sb.Append(".SH DESCRIPTION\n");
        Text(sb, "polymur-gateway takes gzip'd batches of Graphite plaintext lines (path value timestamp) on /ingest, with an API key in X-Polymur-Key or Authorization: Bearer, checked against keys kept in Consul KV. It can prefix every metric with its key's name, and sends the lines to Graphite daemons over TCP or TLS, by broadcast or consistent hashing. A batch is answered 200 only once its lines are queued or spooled for every destination it goes to. An optional plaintext listener takes Graphite's line protocol from trusted senders.");
        sb.Append(".SH OPTIONS\n");
        Text(sb, "Every flag is also an environment variable, shown in brackets; the command line wins. -flag value, -flag=value, --flag value and bare booleans all work. A value that does not parse is an error (exit 2).");
        foreach (var flag in Flags.All)
        {
            sb.Append(".TP\n.B \\-").Append(Escape(flag.Name));
            if (!flag.IsBoolean)
                sb.Append(" \\fI").Append(Escape(flag.Kind)).Append("\\fR");
            sb.Append('\n');
            Text(sb, $"{flag.Help} [{flag.EnvVar}]" + (flag.Default.Length > 0 ? $" (default \"{flag.Default}\")" : ""));
        }
        sb.Append(".TP\n.B \\-h\n");
        Text(sb, "Print the flags with their defaults and variables.");
        sb.Append(".TP\n.B \\-version\n");
        Text(sb, "Print the version.");
        sb.Append(".SH COMMANDS\n.TP\n.B keys\n");
        Text(sb, "The key tool, as pgw-key(8) describes it.");
        sb.Append(".TP\n.B top \\fR[\\fB\\-\\-once\\fR] [\\fB\\-stat\\-addr\\fR \\fIhost:port\\fR] [\\fB\\-api\\-token\\-file\\fR \\fIfile\\fR]\n");
        Text(sb, "A live view of a running gateway, read once a second from its stats listener (default localhost:2020, or POLYMUR_GW_STAT_ADDR; the token from -api-token-file when /stats needs one): ingest points and batches per second, refusals by status, each destination's state, queue, spool, delivery rate and drops, the busiest tenants with their invalid share, memory and GC. It fits 80x24 and shows more on a wider screen; q quits. With --once, or when stdout is not a terminal, it prints one plain snapshot.");
        sb.Append(".TP\n.B spool\n");
        Text(sb, "Inspect the spool directory offline: polymur-gateway spool -h lists its commands.");
        sb.Append(".SH SIGNALS\n.TP\n.B SIGTERM, SIGINT\n");
        Text(sb, "Stop accepting, finish requests in progress, then deliver queued points for up to -drain-timeout.");
        sb.Append(".TP\n.B SIGHUP\n");
        Text(sb, "Reload the HTTPS certificate and key (systemctl reload polymur-gateway).");
        sb.Append(".SH FILES\n.TP\n.I /etc/default/polymur\\-gateway\n");
        Text(sb, "Every variable, commented out, read by the systemd unit.");
        sb.Append(".TP\n.I /var/lib/polymur\\-gateway\n");
        Text(sb, "The spool, where the package turns it on.");
        sb.Append(".SH EXIT STATUS\n");
        Text(sb, "0 after a clean stop; 2 for a flag or environment value that is not valid.");
        sb.Append(".SH SEE ALSO\n.BR pgw\\-key (8),\n.BR carbon\\-c\\-relay (1)\n");
        return sb.ToString();
    }

    public static string KeyTool(string version)
    {
        var sb = Header("PGW-KEY", version);
        sb.Append(".SH NAME\npgw\\-key \\- create, rotate, list, delete and limit polymur\\-gateway API keys in Consul KV\n");
        sb.Append(".SH SYNOPSIS\n.B pgw\\-key\n\\fIcommand\\fR [\\fIarguments\\fR]\n");
        sb.Append(".SH DESCRIPTION\n");
        Text(sb, "pgw-key manages the keys polymur-gateway accepts: each is a Consul KV entry under -consul-prefix (default polymur/gateway/keys/), named by the key's name, holding the key. A name is one metric path segment. Changes reach running gateways within milliseconds, through their blocking queries. It is the same program as polymur-gateway keys.");
        sb.Append(".SH COMMANDS\n");
        foreach (var (name, arguments, help) in Tools.KeyTool.Commands)
        {
            sb.Append(".TP\n.B ").Append(Escape(name)).Append(' ').Append(Escape(arguments)).Append('\n');
            Text(sb, help);
        }
        sb.Append(".SH ENVIRONMENT\n");
        Text(sb, Tools.KeyTool.ConsulEnvironment + ".");
        sb.Append(".SH EXIT STATUS\n");
        Text(sb, "0 on success; 1 when Consul refuses or cannot be reached; 2 for a command that is not valid.");
        sb.Append(".SH SEE ALSO\n.BR polymur\\-gateway (8)\n");
        return sb.ToString();
    }

    private static StringBuilder Header(string title, string version) =>
        // No hyphenation, ragged right: flag names and values stay whole, so they can be searched for as written.
        new StringBuilder().Append(".TH ").Append(title).Append(" 8 \"\" \"polymur-gateway ").Append(version).Append("\" \"System Administration\"\n.nh\n.ad l\n");

    private static void Text(StringBuilder sb, string text) => sb.Append(Escape(text)).Append('\n');

    // roff: a backslash is an escape, a hyphen is a minus sign to be, and a line may not start with a dot or a quote.
    private static string Escape(string text)
    {
        string escaped = text.Replace("\\", "\\e").Replace("-", "\\-");
        return escaped.StartsWith('.') || escaped.StartsWith('\'') ? "\\&" + escaped : escaped;
    }
}
