using System.Text.RegularExpressions;
using Analytics.Contracts;
using Spectre.Console;

namespace Analytics.Simulator;

/// <summary>Tallies what the simulator sent, for the summary table.</summary>
public sealed partial class TrafficStatistics
{
    private readonly SortedDictionary<string, long> _byType = new(StringComparer.Ordinal);

    public long Events { get; private set; }

    public long Conversations { get; private set; }

    public long Regenerations { get; private set; }

    public long RatingsUp { get; private set; }

    public long RatingsDown { get; private set; }

    public long RatingsWithdrawn { get; private set; }

    public long Comparisons { get; private set; }

    public long Comments { get; private set; }

    public long CommentsWithPii { get; private set; }

    public IReadOnlyDictionary<string, long> ByType => _byType;

    /// <summary>True when the text contains something that looks like an e-mail address or a phone number.</summary>
    public static bool LooksLikePii(string text) => Email().IsMatch(text) || Phone().IsMatch(text);

    public void Count(object contractEvent)
    {
        Events++;
        var type = contractEvent.GetType().Name;
        _byType[type] = _byType.GetValueOrDefault(type) + 1;
        string? comment = null;
        switch (contractEvent)
        {
            case ConversationStarted:
                Conversations++;
                break;
            case ResponseGenerated { RegeneratedFrom: not null }:
                Regenerations++;
                break;
            case ResponseRated rated:
                comment = rated.Comment;
                _ = rated.Rating switch
                {
                    Rating.Up => RatingsUp++,
                    Rating.Down => RatingsDown++,
                    _ => RatingsWithdrawn++,
                };
                break;
            case ResponsesCompared compared:
                comment = compared.Comment;
                Comparisons++;
                break;
        }

        if (comment is not null)
        {
            Comments++;
            if (LooksLikePii(comment))
            {
                CommentsWithPii++;
            }
        }
    }

    public Table ToTable(TimeSpan elapsed, long confirmed, long failed, bool dryRun)
    {
        var table = new Table().Title("Simulator summary").AddColumn("what").AddColumn(new TableColumn("count").RightAligned());
        foreach (var (type, count) in _byType)
        {
            table.AddRow($"events: {type}", Format(count));
        }

        table.AddRow("events: total", Format(Events));
        table.AddRow(dryRun ? "events printed" : "events confirmed by the broker", Format(confirmed));
        if (failed > 0)
        {
            table.AddRow("[red]events failed[/]", $"[red]{Format(failed)}[/]");
        }

        table.AddRow("conversations", Format(Conversations));
        table.AddRow("ratings up / down / withdrawn", $"{Format(RatingsUp)} / {Format(RatingsDown)} / {Format(RatingsWithdrawn)}");
        var rated = RatingsUp + RatingsDown;
        table.AddRow("satisfaction (up among up+down events)", rated == 0 ? "-" : $"{100.0 * RatingsUp / rated:0.0}%");
        table.AddRow("comparisons", Format(Comparisons));
        table.AddRow("regenerations", Format(Regenerations));
        table.AddRow("comments / with PII", $"{Format(Comments)} / {Format(CommentsWithPii)}");
        table.AddRow("elapsed", $"{elapsed.TotalSeconds:0.00} s");
        table.AddRow("events/s", elapsed.TotalSeconds > 0 ? $"{Events / elapsed.TotalSeconds:0}" : "-");
        return table;
    }

    private static string Format(long value) => value.ToString("N0", System.Globalization.CultureInfo.InvariantCulture);

    [GeneratedRegex(@"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")]
    private static partial Regex Email();

    [GeneratedRegex(@"(\+\d{1,3}[ -]?)?(\(\d{2,4}\)[ -]?)?\d{2,4}([ -]\d{2,4}){1,3}")]
    private static partial Regex Phone();
}
