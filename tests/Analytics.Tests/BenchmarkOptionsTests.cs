using Analytics.Benchmarks;

namespace Analytics.Tests;

/// <summary>A benchmark refuses what it does not know, rather than running with a default in its place.</summary>
public sealed class BenchmarkOptionsTests
{
    [Theory]
    [InlineData("--runz", "3")]
    [InlineData("--drop")]
    [InlineData("runs", "3")]
    public void The_alerts_evaluation_refuses_an_unknown_option_or_a_missing_value(params string[] args)
    {
        var error = new StringWriter();
        var standardError = Console.Error;
        Console.SetError(error);
        try
        {
            Assert.Equal(2, AlertEvaluation.Run(args));
        }
        finally
        {
            Console.SetError(standardError);
        }

        Assert.Contains("alerts [--runs 40]", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void The_ingest_read_and_triage_settings_refuse_an_unknown_option()
    {
        Assert.Throws<ArgumentException>(() => BenchSettings.Parse(["--event", "2000"]));
        Assert.Throws<ArgumentException>(() => ReadSettings.Parse(["--client", "2"]));
    }
}
