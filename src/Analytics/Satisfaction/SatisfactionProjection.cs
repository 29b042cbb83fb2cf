using Analytics.Comparisons;
using Analytics.Conversations;
using JasperFx.Events;
using JasperFx.Events.Daemon;
using JasperFx.Events.Projections;
using Marten;
using Marten.Events.Projections;

namespace Analytics.Satisfaction;

/// <summary>
/// Async projection of conversation streams into plain SQL tables (schema analytics, prefix sat_) that the
/// API and Grafana query with ordinary SQL. Every write is an upsert keyed by the fact's own id, so a replay
/// or a rebuild gives the same rows. A later rating of a turn replaces the earlier one (the latest
/// occurredAt wins; on a tie the later event in the store wins); "none" withdraws it. A thumbs up or down counts in
/// satisfaction whether its response came before it, comes after it or never: without its response, under the model
/// and capabilities the rating carries, in the hour it occurred, slice unknown; once the response is there, in the
/// response's cell (it moves, it is not counted twice). The rating rate (rated among responses) counts only ratings
/// of responses that are there.
/// <para>
/// The daemon hands over a page of events at a time (<see cref="PageSize"/>); the page is folded in memory
/// (<see cref="SatisfactionPage"/>) and written by one set-based statement that reads the prior state of the
/// touched rows and moves each counter by the difference between the touched turns' contributions after and
/// before the page (a response counts its current rating; a flip or a withdrawal moves the counts).
/// </para>
/// </summary>
public sealed class SatisfactionProjection : EventProjection, IJasperFxProjection<IDocumentOperations>
{
    /// <summary>Events per daemon page (Marten's default is 500): one statement per page; the rebuild pays a progression update and a few round trips per page.</summary>
    public const int PageSize = 10_000;

    public const string Conversations = EventStoreRegistration.SchemaName + ".sat_conversations";
    public const string Responses = EventStoreRegistration.SchemaName + ".sat_responses";
    public const string Ratings = EventStoreRegistration.SchemaName + ".sat_ratings";
    public const string Comparisons = EventStoreRegistration.SchemaName + ".sat_comparisons";
    public const string Cells = EventStoreRegistration.SchemaName + ".sat_cells";
    public const string CellTotals = EventStoreRegistration.SchemaName + ".sat_cell_totals";
    public const string CellDays = EventStoreRegistration.SchemaName + ".sat_cell_days";
    public const string CellReasons = EventStoreRegistration.SchemaName + ".sat_cell_reasons";
    public const string PairCounts = ComparisonPairCounts.Table;

    /// <summary>Slice value when a response's conversation was not projected before it (or has no experiment).</summary>
    public const string Unknown = "";

    public SatisfactionProjection()
    {
        IncludeType<ConversationStartedRecorded>();
        IncludeType<ResponseGeneratedRecorded>();
        IncludeType<ResponseRatedRecorded>();
        IncludeType<ResponsesComparedRecorded>();
        Options.BatchSize = PageSize;
        Options.MaximumHopperSize = 4 * PageSize;

        foreach (var table in SatisfactionTables.Definitions())
        {
            SchemaObjects.Add(table);
            Options.DeleteDataInTableOnTeardown(table.Identifier.QualifiedName);
        }
    }

    public static DateTimeOffset HourOf(DateTimeOffset time)
    {
        var utc = time.ToUniversalTime();
        return new DateTimeOffset(utc.Year, utc.Month, utc.Day, utc.Hour, 0, 0, TimeSpan.Zero);
    }

    /// <summary>The page-level entry point the async daemon calls (the base class would apply events one by one).</summary>
    Task IJasperFxProjection<IDocumentOperations>.ApplyAsync(IDocumentOperations operations, IReadOnlyList<IEvent> events,
        CancellationToken cancellation)
    {
        using var span = SatisfactionTracing.StartPage(events);
        Queue(operations, events);
        return Task.CompletedTask;
    }

    /// <summary>One event at a time (inline use): a page of one.</summary>
    public override ValueTask ApplyAsync(IDocumentOperations operations, IEvent e, CancellationToken cancellation)
    {
        Queue(operations, [e]);
        return ValueTask.CompletedTask;
    }

    private static void Queue(IDocumentOperations operations, IReadOnlyList<IEvent> events)
    {
        object[]? parameters;
        try
        {
            var page = new SatisfactionPage(events);
            parameters = page.IsEmpty ? null : page.Parameters();
        }
        catch (Exception pageFailure) when (FirstUnfoldable(events) is { } poison)
        {
            // A page is folded as a whole, so one event that breaks the fold would stop the shard. Find the first
            // such event and report it the way Marten reports an event projection's poison pill: the daemon
            // (SkipApplyErrors, on in continuous mode) records it in mt_doc_deadletterevent, skips its sequence and
            // hands the rest of the page back to this method. Nothing else of the page is lost.
            throw new ApplyEventException(poison, pageFailure);
        }

        if (parameters is not null)
        {
            operations.QueueSqlCommand(SatisfactionPageSql.Page, parameters);
            operations.QueueSqlCommand(SatisfactionPageSql.DeleteSpentRows);
        }
    }

    private static IEvent? FirstUnfoldable(IReadOnlyList<IEvent> events)
    {
        foreach (var e in events)
        {
            try
            {
                var single = new SatisfactionPage([e]);
                if (!single.IsEmpty)
                {
                    _ = single.Parameters();
                }
            }
            catch (Exception)
            {
                return e;
            }
        }

        return null;
    }
}
