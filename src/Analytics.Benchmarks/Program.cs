using System.Diagnostics;
using Analytics.Benchmarks;
using Spectre.Console;

// Tables get room to be read. Ctrl+C cancels a run cleanly (BenchmarkCommandLine).
if (AnsiConsole.Profile.Width < 200)
{
    AnsiConsole.Profile.Width = 200;
}

return await BenchmarkCommandLine.InvokeAsync(args, (options, ct) => options switch
{
    BenchSettings ingest => IngestBenchmark.RunAsync(ingest, ct),
    ReadSettings read => ReadBenchmark.RunAsync(read, RepositoryRoot.Find(), ct),
    TriageBenchmarkOptions triage => TriageBenchmark.RunAsync(triage, RepositoryRoot.Find(), ct),
    AlertEvaluationOptions alerts => Task.FromResult(AlertEvaluation.Run(alerts)),
    ScaleOutOptions scaleOut => ScaleOutRun.RunAsync(scaleOut, RepositoryRoot.Find(), ct),
    ConsoleLoadOptions console => ConsoleLoadTimes.RunAsync(console, ct),
    _ => throw new UnreachableException($"no benchmark for {options.GetType().Name}"),
});
