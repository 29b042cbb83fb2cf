using Analytics.Contracts;
using Npgsql;

namespace Analytics.IntegrationTests;

/// <summary>Thumbs-down feedback with chosen comments (one conversation per item: started, response, thumbs down).</summary>
public static class TriageFeedback
{
    public static readonly DateTimeOffset At = new(2026, 11, 20, 9, 0, 0, TimeSpan.Zero);

    public static readonly string[] EmptyPlot =
    [
        "The chart came out empty.", "The plot has no data points on it.", "Blank figure, nothing was plotted.",
        "It drew an empty graph instead of my bar chart.", "The generated plot is completely empty.", "Empty chart again, no bars at all.",
    ];

    public static readonly string[] UploadFails =
    [
        "The CSV upload fails before the code even runs.", "It could not read the file I uploaded.",
        "Uploading my spreadsheet breaks the code execution.", "The analysis crashed as soon as it opened my uploaded file.",
        "File upload error, the script never ran on my data file.", "It cannot open the uploaded CSV file.",
    ];

    public static List<object> ThumbsDown(string modelId, IEnumerable<string> comments, DateTimeOffset at, string capability = "code_execution",
        FeedbackReason reason = FeedbackReason.CodeError)
    {
        var events = new List<object>();
        var model = new ModelRef(modelId, "2026-11");
        var i = 0;
        foreach (var comment in comments)
        {
            var conversationId = Guid.NewGuid();
            var turn = Guid.NewGuid();
            var time = at.AddMinutes(i++);
            events.Add(new ConversationStarted(Guid.NewGuid(), time, 1, conversationId, "it", $"user-{i}", "web", "en-US", new Personalization(false)));
            events.Add(new ResponseGenerated(Guid.NewGuid(), time.AddSeconds(1), 1, conversationId, "it", turn, 0, model, [capability],
                new Modality(["text"], ["text"]), 900, 100, 200, new Moderation(false, []), null, "Plot monthly sales from this CSV as a bar chart.",
                "I ran the analysis; the chart is below."));
            events.Add(new ResponseRated(Guid.NewGuid(), time.AddSeconds(5), 1, conversationId, "it", turn, Rating.Down, [reason], model,
                [capability], comment));
        }

        return events;
    }

    public static Task PublishAsync(TestPlatform platform, IEnumerable<object> events) => platform.PublishInBatchesAsync(events, 100);

    /// <summary>Thumbs-down items clustered so far (0 before the clusterer created its tables).</summary>
    public static async Task<long> ClusteredCountAsync(TestPlatform platform, string? modelId = null)
    {
        await using var connection = new NpgsqlConnection(platform.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "select count(*) from analytics.tri_cluster_items where $1::text is null or model_id = $1", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)modelId ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        try
        {
            return (long)(await command.ExecuteScalarAsync())!;
        }
        catch (PostgresException)
        {
            return 0;
        }
    }
}
