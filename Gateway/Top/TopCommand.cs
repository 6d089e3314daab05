namespace Polymur.Gateway.Top;

/// <summary>
/// <c>polymur-gateway top</c>: a live view of a running gateway, read from its stats listener once a second.
/// On a terminal it redraws in place (the alternate screen, as top(1) does) until q; with --once, or when
/// stdout is not a terminal, it prints one plain snapshot and exits. A gateway that does not answer is shown
/// as such and asked again, never a crash.
/// </summary>
internal static class TopCommand
{
    public static async Task<int> RunAsync(IReadOnlyList<string> args, Func<string, string?> env)
    {
        var options = TopOptions.Parse(args, env, out string? error);
        if (options is null)
        {
            Console.Error.Write($"polymur-gateway top: {error}\n{TopOptions.Usage}");
            return 2;
        }
        using var reader = new StatsReader(options.Stats, options.Token);
        string source = options.Stats.Authority;
        if (options.Once || Console.IsOutputRedirected)
        {
            try
            {
                var first = await reader.ReadAsync();
                if (first.Empty)
                {
                    Console.Error.WriteLine($"polymur-gateway top: {options.Stats}: none of the sections top shows is there ({string.Join(", ", first.Missing)}): is -stat-addr a polymur-gateway's stats listener?");
                    return 1;
                }
                await Task.Delay(1000);
                Console.Out.Write(TopScreen.Plain(first, await reader.ReadAsync(), source));
                return 0;
            }
            catch (StatsUnreadableException e)
            {
                Console.Error.WriteLine($"polymur-gateway top: {options.Stats}: {e.Message}");
                return 1;
            }
        }
        return await LiveAsync(reader, options.Stats, source);
    }

    private static async Task<int> LiveAsync(StatsReader reader, Uri stats, string source)
    {
        var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };
        Console.Out.Write("\u001b[?1049h\u001b[?25l"); // alternate screen, cursor hidden
        try
        {
            StatsSample? previous = null;
            while (!stop.IsCancellationRequested)
            {
                string[] screen;
                try
                {
                    var now = await reader.ReadAsync();
                    screen = previous is null ? ["polymur-gateway " + source, "", "reading..."] : [.. TopScreen.Render(previous, now, source, Console.WindowWidth, Console.WindowHeight)];
                    previous = now;
                }
                catch (StatsUnreadableException e)
                {
                    screen = ["polymur-gateway " + source, "", $"no answer from {stats}: {e.Message}", "trying again every second; q quits"];
                    previous = null;
                }
                Draw(screen, Console.WindowWidth);
                if (await WaitForQuitAsync(TimeSpan.FromSeconds(1), stop.Token))
                    break;
            }
        }
        finally
        {
            Console.Out.Write("\u001b[?25h\u001b[?1049l");
            Console.Out.Flush();
        }
        return 0;
    }

    private static void Draw(IReadOnlyList<string> screen, int width)
    {
        // Each line is cleared to its end; no newline after the last, which would scroll a full screen by one.
        var frame = new System.Text.StringBuilder("\u001b[H");
        for (int i = 0; i < screen.Count; i++)
        {
            frame.Append(screen[i].Length > width ? screen[i][..width] : screen[i]).Append("\u001b[K");
            if (i < screen.Count - 1)
                frame.Append("\r\n");
        }
        frame.Append("\u001b[J");
        Console.Out.Write(frame.ToString());
        Console.Out.Flush();
    }

    // Reads keys for up to the interval; true once q (or Q) is pressed.
    private static async Task<bool> WaitForQuitAsync(TimeSpan interval, CancellationToken stop)
    {
        var end = DateTime.UtcNow + interval;
        while (DateTime.UtcNow < end && !stop.IsCancellationRequested)
        {
            while (Console.KeyAvailable)
            {
                if (Console.ReadKey(intercept: true).KeyChar is 'q' or 'Q')
                    return true;
            }
            await Task.Delay(50, CancellationToken.None);
        }
        return stop.IsCancellationRequested;
    }

}
