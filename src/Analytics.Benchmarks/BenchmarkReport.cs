using Spectre.Console;

namespace Analytics.Benchmarks;

/// <summary>A column of a <see cref="ReportTable"/>: numbers are right-aligned, on the console and in Markdown.</summary>
public sealed record ReportColumn(string Name, bool RightAligned = false);

/// <summary>A table of a benchmark's results, written to the console and, when asked for, as Markdown.</summary>
public sealed class ReportTable(string title, params ReportColumn[] columns)
{
    private readonly List<string[]> _rows = [];

    public string Title => title;

    public IReadOnlyList<ReportColumn> Columns => columns;

    public IReadOnlyList<string[]> Rows => _rows;

    public ReportTable(string title, params string[] columns)
        : this(title, columns.Select(name => new ReportColumn(name)).ToArray())
    {
    }

    public void AddRow(params string[] cells)
    {
        if (cells.Length != columns.Length)
        {
            throw new ArgumentException($"{cells.Length} cells for {columns.Length} columns", nameof(cells));
        }

        _rows.Add(cells);
    }

    /// <summary>The table on the console (Spectre.Console; the cells are text, never markup).</summary>
    public void Write()
    {
        var table = new Table().Border(TableBorder.Rounded);
        if (title.Length > 0)
        {
            table.Title(Markup.Escape(title));
        }

        foreach (var column in columns)
        {
            table.AddColumn(new TableColumn(Markup.Escape(column.Name)) { Alignment = column.RightAligned ? Justify.Right : Justify.Left });
        }

        foreach (var row in _rows)
        {
            table.AddRow(row.Select(Markup.Escape).ToArray());
        }

        AnsiConsole.Write(table);
    }

    /// <summary>The table as Markdown, as docs/performance.md quotes it.</summary>
    public void WriteMarkdown(TextWriter output)
    {
        output.WriteLine("| " + string.Join(" | ", columns.Select(c => c.Name)) + " |");
        output.WriteLine("|" + string.Join("|", columns.Select(c => c.RightAligned ? "--:" : "---")) + "|");
        foreach (var row in _rows)
        {
            output.WriteLine("| " + string.Join(" | ", row) + " |");
        }
    }
}

/// <summary>
/// The report of one benchmark run, the same for every mode: progress steps and figures as they are measured, then the
/// results table (the figures, or a table of the mode's own), the targets with their verdicts, the failures, and with
/// <c>--markdown</c> the same tables as Markdown (with the command line and any code blocks, such as a query plan).
/// </summary>
public sealed class BenchmarkReport(string title)
{
    private readonly List<(string Figure, string Value)> _figures = [];
    private readonly List<(string Target, string Measured, bool? Met)> _targets = [];
    private readonly List<string> _failures = [];
    private readonly List<string> _codeBlocks = [];

    public string Title => title;

    public IReadOnlyList<string> Failures => _failures;

    /// <summary>0 when nothing failed, else 1.</summary>
    public int ExitCode => _failures.Count == 0 ? 0 : 1;

    /// <summary>A step of the run, with the time, as it starts.</summary>
    public static void Step(string title) => AnsiConsole.MarkupLine($"[grey]{DateTime.Now:HH:mm:ss}[/] {Markup.Escape(title)}...");

    /// <summary>A figure: shown now, and a row of the figures table at the end.</summary>
    public void Figure(string name, string value)
    {
        _figures.Add((name, value));
        AnsiConsole.MarkupLine($"  {Markup.Escape(name)}: [bold]{Markup.Escape(value)}[/]");
    }

    /// <summary>A target and what was measured against it; <paramref name="met"/> null: context, no target.</summary>
    public void Target(string target, string measured, bool? met) => _targets.Add((target, measured, met));

    /// <summary>A failure, listed at the end and making the exit code 1; <paramref name="shown"/> is also shown now.</summary>
    public void Fail(string failure, string? shown = null)
    {
        _failures.Add(failure);
        if (shown is not null)
        {
            AnsiConsole.MarkupLine($"  [red]failed[/]: {Markup.Escape(shown)}");
        }
    }

    /// <summary>A code block for the Markdown output, after the tables.</summary>
    public void Code(string text) => _codeBlocks.Add(text);

    /// <summary>The results (<paramref name="results"/>, else the figures), the targets and the failures on the console.</summary>
    public void WriteTables(ReportTable? results = null)
    {
        AnsiConsole.WriteLine();
        (results ?? FiguresTable()).Write();
        if (_targets.Count > 0)
        {
            var verdicts = new Table().Border(TableBorder.Rounded).Title("Targets");
            verdicts.AddColumn("Target").AddColumn("Measured").AddColumn("Result");
            foreach (var (target, measured, met) in _targets)
            {
                verdicts.AddRow(Markup.Escape(target), Markup.Escape(measured),
                    met switch { true => "[green]met[/]", false => "[red]MISSED[/]", null => "[yellow]n/a[/]" });
            }

            AnsiConsole.Write(verdicts);
        }

        foreach (var failure in _failures)
        {
            AnsiConsole.MarkupLine($"[red]Failed:[/] {Markup.Escape(failure)}");
        }
    }

    /// <summary>The same as Markdown: the command line (when given), the results, the targets and the code blocks.</summary>
    public void WriteMarkdown(ReportTable? results = null, string? commandLine = null)
    {
        var output = Console.Out;
        if (commandLine is not null)
        {
            output.WriteLine();
            output.WriteLine("```sh");
            output.WriteLine(commandLine);
            output.WriteLine("```");
        }

        output.WriteLine();
        (results ?? FiguresTable()).WriteMarkdown(output);
        if (_targets.Count > 0)
        {
            var targets = new ReportTable(string.Empty, "Target", "Measured", "Result");
            foreach (var (target, measured, met) in _targets)
            {
                targets.AddRow(target, measured, met switch { true => "met", false => "**missed**", null => "n/a" });
            }

            output.WriteLine();
            targets.WriteMarkdown(output);
        }

        foreach (var code in _codeBlocks)
        {
            output.WriteLine();
            output.WriteLine("```");
            output.WriteLine(code);
            output.WriteLine("```");
        }
    }

    private ReportTable FiguresTable()
    {
        var table = new ReportTable(title, "Figure", "Measured");
        foreach (var (name, value) in _figures)
        {
            table.AddRow(name, value);
        }

        return table;
    }
}
