using Analytics.Benchmarks;
using Spectre.Console;

// Every mode: Ctrl+C cancels cleanly, and tables get room to be read.
using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancellation.Cancel();
};
var ct = cancellation.Token;
if (AnsiConsole.Profile.Width < 200)
{
    AnsiConsole.Profile.Width = 200;
}

switch (args.FirstOrDefault())
{
    case "alerts":
        return AlertEvaluation.Run(args[1..]);
    case "read":
        return await ReadBenchmark.RunAsync(args[1..], RepositoryRoot.Find(), ct);
    case "triage":
        return await TriageBenchmark.RunAsync(args[1..], RepositoryRoot.Find(), ct);
    case "console":
        return await ConsoleLoadTimes.RunAsync(args[1..], ct);
    case "scale-out":
        return await ScaleOutRun.RunAsync(args[1..], RepositoryRoot.Find(), ct);
}

return await IngestBenchmark.RunAsync(args, ct);
