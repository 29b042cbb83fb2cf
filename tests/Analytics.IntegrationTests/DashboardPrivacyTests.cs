using Analytics.Dashboards;
using Npgsql;

namespace Analytics.IntegrationTests;

/// <summary>
/// Grafana's role reads views without the text people wrote. Any Grafana user with Explore can send the data source
/// raw SQL, so the role's privileges are the boundary: these tests try to read comments, excerpts and cluster labels
/// as the role, on data where they exist, and every panel still runs on the views
/// (Every_SQL_panel_runs_as_the_read_only_role_with_all_and_with_single_values_and_returns_its_columns).
/// </summary>
public sealed partial class DashboardQueryTests
{
    [Theory]
    [InlineData("select comment from analytics.sat_ratings")]
    [InlineData("select prompt_excerpt, response_excerpt from analytics.sat_responses")]
    [InlineData("select * from analytics.sat_ratings")]
    [InlineData("select label from analytics.tri_clusters")]
    [InlineData("select comment, prompt_excerpt from analytics.tri_cluster_items")]
    [InlineData("select acknowledgement_note from analytics.alerts")]
    [InlineData("select last_error from analytics.alert_deliveries")]
    [InlineData("select data from analytics.mt_events")]
    public async Task The_dashboard_role_cannot_read_the_tables_that_hold_what_people_wrote(string statement)
    {
        await using var connection = new NpgsqlConnection(fixture.ReaderConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(statement, connection);
        var refused = await Assert.ThrowsAsync<PostgresException>(() => command.ExecuteReaderAsync());
        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, refused.SqlState);
    }

    [Theory]
    [InlineData("sat_ratings", "comment")]
    [InlineData("sat_responses", "prompt_excerpt")]
    [InlineData("sat_responses", "response_excerpt")]
    [InlineData("tri_clusters", "label")]
    [InlineData("tri_cluster_items", "comment")]
    [InlineData("tri_cluster_items", "prompt_excerpt")]
    [InlineData("alerts", "acknowledgement_note")]
    public async Task The_dashboard_views_have_no_free_text_columns_though_the_tables_hold_text(string table, string column)
    {
        // The text is there (the fixture's traffic has comments and excerpts; the acknowledged alert has a note) ...
        await using (var owner = new NpgsqlConnection(fixture.Platform.ConnectionString))
        {
            await owner.OpenAsync();
            await using var count = new NpgsqlCommand($"select count({column}) from analytics.{table} where {column} is not null and {column} <> ''", owner);
            Assert.True((long)(await count.ExecuteScalarAsync())! > 0, $"analytics.{table}.{column} holds no text: the test would prove nothing");
        }

        // ... and the role's view of the table does not have the column.
        await using var connection = new NpgsqlConnection(fixture.ReaderConnectionString);
        await connection.OpenAsync();
        await using var select = new NpgsqlCommand($"select {column} from {DashboardViews.SchemaName}.{table}", connection);
        var refused = await Assert.ThrowsAsync<PostgresException>(() => select.ExecuteReaderAsync());
        Assert.Equal(PostgresErrorCodes.UndefinedColumn, refused.SqlState);

        await using var all = new NpgsqlCommand($"select * from {DashboardViews.SchemaName}.{table} limit 1", connection);
        await using var reader = await all.ExecuteReaderAsync();
        var columns = Enumerable.Range(0, reader.FieldCount).Select(reader.GetName).ToList();
        Assert.NotEmpty(columns);
        Assert.Empty(columns.Intersect(DashboardViews.FreeTextColumns));
    }

    [Fact]
    public async Task Every_text_column_the_role_can_read_is_a_category_or_an_id_not_free_text()
    {
        // A new text column in a projection table shows up in its view; this list makes someone decide whether it is
        // free text (add it to DashboardViews.FreeTextColumns) or a category.
        string[] categorical =
        [
            "model_id", "model_version", "model_variant", "capability", "capabilities", "surface", "locale", "custom_instructions",
            "experiment_id", "experiment_arm", "rating", "reasons", "reason", "preferred", "a_model_id", "a_model_version",
            "b_model_id", "b_model_version", "model_x", "model_y", "state", "severity", "category", "assignee", "acknowledged_by",
            "baseline_kind", "baseline_version", "channel",
        ];
        await using var connection = new NpgsqlConnection(fixture.Platform.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "select table_name || '.' || column_name, column_name from information_schema.columns where table_schema = $1 and data_type in ('text', 'character varying', 'ARRAY', 'jsonb')",
            connection);
        command.Parameters.Add(new NpgsqlParameter { Value = DashboardViews.SchemaName });
        await using var reader = await command.ExecuteReaderAsync();
        var seen = 0;
        while (await reader.ReadAsync())
        {
            var column = reader.GetString(1);
            Assert.True(categorical.Contains(column) || column.EndsWith("_evidence", StringComparison.Ordinal),
                $"{DashboardViews.SchemaName}.{reader.GetString(0)} is text the dashboard role can read: free text or a category?");
            seen++;
        }

        Assert.True(seen > 10, $"only {seen} text columns in the views");
    }

    [Fact]
    public void No_dashboard_or_alert_rule_reads_schema_analytics()
    {
        var sql = DashboardFiles.Load().SelectMany(d => Queries(d.Json))
            .Concat(DashboardFiles.AlertRules().SelectMany(r => Queries(r.Rule)))
            .ToList();
        Assert.True(sql.Count > 40, $"only {sql.Count} queries found");
        Assert.All(sql, q => Assert.DoesNotMatch(@"\banalytics\.", q));
        Assert.Contains(sql, q => q.Contains($"{DashboardViews.SchemaName}.", StringComparison.Ordinal));

        static IEnumerable<string> Queries(System.Text.Json.Nodes.JsonNode? node) => node switch
        {
            System.Text.Json.Nodes.JsonObject obj => obj.SelectMany(p =>
                p.Key is "rawSql" or "query" or "definition" && p.Value is System.Text.Json.Nodes.JsonValue v && v.TryGetValue<string>(out var s) ? [s] : Queries(p.Value)),
            System.Text.Json.Nodes.JsonArray array => array.SelectMany(Queries),
            _ => [],
        };
    }
}
