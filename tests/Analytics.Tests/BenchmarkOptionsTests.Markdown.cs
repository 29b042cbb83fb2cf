using Analytics.Benchmarks;

namespace Analytics.Tests;

/// <summary>
/// The triage and scale-out modes print their figures through the shared report, so they take <c>--markdown</c> as the
/// ingest, read and alerts modes do, and keep their command line for the Markdown output.
/// </summary>
public sealed partial class BenchmarkOptionsTests
{
    [Fact]
    public async Task Triage_takes_markdown_and_keeps_its_command_line()
    {
        var (exitCode, options, _, error) = await InvokeAsync(["triage", "--items", "200", "--no-delay", "--markdown"]);

        Assert.True(exitCode == 0, error);
        var triage = Assert.IsType<TriageBenchmarkOptions>(options);
        Assert.Equal((200, false, true), (triage.Items, triage.Delay, triage.Markdown));
        Assert.Equal($"{BenchmarkCommandLine.Run} triage --items 200 --no-delay --markdown", triage.CommandLine);
    }

    [Fact]
    public async Task Scale_out_takes_markdown_and_keeps_its_command_line()
    {
        var (exitCode, options, _, error) = await InvokeAsync(["scale-out", "--conversations", "100", "--markdown"]);

        Assert.True(exitCode == 0, error);
        var scaleOut = Assert.IsType<ScaleOutOptions>(options);
        Assert.Equal((100, true), (scaleOut.Conversations, scaleOut.Markdown));
        Assert.Equal($"{BenchmarkCommandLine.Run} scale-out --conversations 100 --markdown", scaleOut.CommandLine);
    }

    [Fact]
    public async Task Without_markdown_neither_triage_nor_scale_out_prints_markdown()
    {
        var triage = Assert.IsType<TriageBenchmarkOptions>((await InvokeAsync(["triage"])).Options);
        var scaleOut = Assert.IsType<ScaleOutOptions>((await InvokeAsync(["scale-out"])).Options);

        Assert.Equal((false, false), (triage.Markdown, scaleOut.Markdown));
    }
}
