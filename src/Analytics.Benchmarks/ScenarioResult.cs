namespace Analytics.Benchmarks;

/// <summary>The figures of one scenario.</summary>
public sealed record ScenarioResult(string Name, long Messages, long Events, TimeSpan Elapsed)
{
    public double? PeakWorkerMb { get; init; }

    public CpuUse? Cpu { get; init; }

    public string? Note { get; init; }

    public double MessagesPerSecond => Messages / Elapsed.TotalSeconds;

    public double EventsPerSecond => Events / Elapsed.TotalSeconds;
}
