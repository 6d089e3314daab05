// Coverage-guided fuzzing (SharpFuzz + AFL++) of the line parser and of the gzip-to-lines path.
// Each target checks invariants and throws when one breaks: AFL records that input as a crash.
//   dotnet Gateway.Fuzz.dll lines|gzip   (reads one input from stdin per run, under afl-fuzz)
using Polymur.Gateway.Tests.Reliability;
using SharpFuzz;

string target = args.Length > 0 ? args[0] : "lines";
Fuzzer.OutOfProcess.Run(stream =>
{
    var input = new MemoryStream();
    stream.CopyTo(input);
    var data = input.ToArray();
    if (target == "gzip")
        FuzzTargets.GzipToLines(data);
    else
        FuzzTargets.Lines(data);
});
