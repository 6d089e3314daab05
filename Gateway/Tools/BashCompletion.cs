using System.Text;
using Polymur.Gateway.Configuration;

namespace Polymur.Gateway.Tools;

/// <summary>
/// Bash completion for polymur-gateway and pgw-key, written from the flag table and the key tool's commands
/// (<c>--completion</c>; the .deb installs it), so it offers exactly the flags, values and commands there are.
/// </summary>
internal static class BashCompletion
{
    public static string Script()
    {
        var sb = new StringBuilder();
        sb.Append("# bash completion for polymur-gateway and pgw-key, written by polymur-gateway --completion\n");
        sb.Append("_pgw_key_words() {\n");
        sb.Append("    local first=$1 cur=${COMP_WORDS[COMP_CWORD]}\n");
        sb.Append("    if [[ $COMP_CWORD -eq $first ]]; then\n");
        sb.Append("        COMPREPLY=($(compgen -W \"").AppendJoin(' ', KeyTool.Commands.Select(c => c.Name)).Append("\" -- \"$cur\"))\n");
        sb.Append("    elif [[ ${COMP_WORDS[first]} == list ]]; then\n");
        sb.Append("        COMPREPLY=($(compgen -W \"all --show-keys\" -- \"$cur\"))\n");
        sb.Append("    elif [[ ${COMP_WORDS[first]} == limit && $COMP_CWORD -eq $((first + 2)) ]]; then\n");
        sb.Append("        COMPREPLY=($(compgen -W \"none default\" -- \"$cur\"))\n");
        sb.Append("    fi\n}\n");
        sb.Append("_pgw_key() { _pgw_key_words 1; }\n");
        sb.Append("_polymur_gateway() {\n");
        sb.Append("    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n");
        sb.Append("    if [[ $COMP_CWORD -ge 2 && ${COMP_WORDS[1]} == keys ]]; then _pgw_key_words 2; return; fi\n");
        sb.Append("    if [[ $COMP_CWORD -ge 2 && ${COMP_WORDS[1]} == top ]]; then\n");
        sb.Append("        case ${prev#-} in -api-token-file|api-token-file) COMPREPLY=($(compgen -f -- \"$cur\")); return;; -stat-addr|stat-addr) return;; esac\n");
        sb.Append("        COMPREPLY=($(compgen -W \"--once -stat-addr -api-token-file\" -- \"$cur\")); return\n");
        sb.Append("    fi\n");
        sb.Append("    case ${prev#-} in\n");
        foreach (var flag in Flags.All)
        {
            string? words = flag.Choices.Count > 0 ? $"-W \"{string.Join(' ', flag.Choices)}\""
                : flag.Hint == ValueHint.File ? "-f"
                : flag.Hint == ValueHint.Directory ? "-d"
                : null;
            if (words is not null)
                sb.Append("        ").Append(flag.Name).Append("|-").Append(flag.Name).Append(") COMPREPLY=($(compgen ").Append(words).Append(" -- \"$cur\")); return;;\n");
        }
        sb.Append("    esac\n");
        sb.Append("    if [[ $cur == -* ]]; then\n");
        sb.Append("        COMPREPLY=($(compgen -W \"").AppendJoin(' ', Flags.All.Select(f => "-" + f.Name)).Append(" -h -version\" -- \"$cur\"))\n");
        sb.Append("    elif [[ $COMP_CWORD -eq 1 ]]; then\n");
        sb.Append("        COMPREPLY=($(compgen -W \"keys spool top\" -- \"$cur\"))\n");
        sb.Append("    fi\n}\n");
        sb.Append("complete -F _polymur_gateway polymur-gateway\n");
        sb.Append("complete -F _pgw_key pgw-key\n");
        return sb.ToString();
    }
}
