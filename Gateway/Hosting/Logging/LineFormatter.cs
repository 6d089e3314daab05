using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;

namespace Polymur.Gateway.Hosting.Logging;

/// <summary>
/// One line per event: <c>2026-12-03T05:54:39.031Z info  GatewayApp[107] message</c> as text, or
/// <c>&lt;6&gt;GatewayApp[107] message</c> for the journal (which keeps its own timestamps and reads the priority
/// from the prefix). The category is the class name alone and the event id is the small one set in the source,
/// so a line reads well and can be grepped or alerted on by its id. An exception stays on the same line.
/// </summary>
internal sealed class LineFormatter(bool journal) : ConsoleFormatter(journal ? JournalName : TextName)
{
    public const string TextName = "polymur-text";
    public const string JournalName = "polymur-journal";

    public override void Write<TState>(in LogEntry<TState> entry, IExternalScopeProvider? scopeProvider, TextWriter writer)
    {
        string message = entry.Formatter(entry.State, entry.Exception);
        if (message.Length == 0 && entry.Exception is null)
            return;
        if (journal)
            writer.Write(Priority(entry.LogLevel));
        else
        {
            writer.Write(DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z' ", CultureInfo.InvariantCulture));
            writer.Write(Level(entry.LogLevel));
        }
        writer.Write(ShortCategory(entry.Category));
        if (entry.EventId.Id != 0)
        {
            writer.Write('[');
            writer.Write(entry.EventId.Id.ToString(CultureInfo.InvariantCulture));
            writer.Write(']');
        }
        writer.Write(' ');
        writer.Write(OneLine(message));
        if (entry.Exception is not null)
        {
            writer.Write(" | ");
            writer.Write(OneLine(entry.Exception.ToString()));
        }
        writer.Write('\n');
    }

    private static ReadOnlySpan<char> ShortCategory(string category)
    {
        int dot = category.LastIndexOf('.');
        return dot < 0 ? category : category.AsSpan(dot + 1);
    }

    private static string OneLine(string text) => text.Contains('\n') ? text.Replace("\r", "").Replace("\n", " | ") : text;

    private static string Level(LogLevel level) => level switch
    {
        LogLevel.Trace => "trce  ",
        LogLevel.Debug => "dbug  ",
        LogLevel.Information => "info  ",
        LogLevel.Warning => "warn  ",
        LogLevel.Error => "fail  ",
        LogLevel.Critical => "crit  ",
        _ => "      ",
    };

    // syslog priorities, as sd-daemon(3) reads them.
    private static string Priority(LogLevel level) => level switch
    {
        LogLevel.Trace or LogLevel.Debug => "<7>",
        LogLevel.Information => "<6>",
        LogLevel.Warning => "<4>",
        LogLevel.Error => "<3>",
        LogLevel.Critical => "<2>",
        _ => "<6>",
    };
}
