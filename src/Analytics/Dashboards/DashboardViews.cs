using Npgsql;

namespace Analytics.Dashboards;

/// <summary>
/// What Grafana's role may read: one view per projection table (sat_*, alerts, tri_*) in schema
/// <see cref="SchemaName"/>, with every column of its table except the ones that hold what people wrote (comments,
/// prompt and response excerpts, cluster labels, which are central comments, triagers' notes and fix references) and
/// the embeddings computed from that text. The role reads these views and nothing in schema analytics; a dashboard
/// that needs the text links to the console's triage page, which asks for an API key.
/// The views belong to the schema owner, so they read the tables with the owner's rights; they are built from the
/// tables' columns at every worker start, after Marten has migrated the tables.
/// </summary>
public static class DashboardViews
{
    public const string SchemaName = "dashboard";

    /// <summary>Columns never shown to the dashboard role, whatever table they are in.</summary>
    public static IReadOnlySet<string> FreeTextColumns { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "comment", "prompt_excerpt", "response_excerpt", "label", "acknowledgement_note", "fix_reference", "embedding", "centroid",
        // The alert outbox: the payload is for the receiver; an error may quote a webhook URL, whose path carries its token.
        "payload", "last_error",
    };

    /// <summary>
    /// Recreates schema <see cref="SchemaName"/> with one view per table of <paramref name="tables"/> (qualified names in
    /// schema <paramref name="sourceSchema"/>) without the free-text columns, in <paramref name="transaction"/>.
    /// Returns the qualified view names.
    /// </summary>
    public static async Task<IReadOnlyList<string>> RecreateAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string sourceSchema, IReadOnlyList<string> tables, CancellationToken cancellationToken)
    {
        var columns = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        await using (var list = new NpgsqlCommand(
            "select table_name, quote_ident(column_name), column_name from information_schema.columns where table_schema = $1 and table_name = any($2) order by table_name, ordinal_position",
            connection, transaction))
        {
            list.Parameters.Add(new NpgsqlParameter { Value = sourceSchema });
            list.Parameters.Add(new NpgsqlParameter { Value = tables.ToArray() });
            await using var reader = await list.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                if (!FreeTextColumns.Contains(reader.GetString(2)))
                {
                    var table = reader.GetString(0);
                    if (!columns.TryGetValue(table, out var kept))
                    {
                        columns[table] = kept = [];
                    }

                    kept.Add(reader.GetString(1));
                }
            }
        }

        var views = columns.Keys.Order(StringComparer.Ordinal).Select(t => $"{SchemaName}.{t}").ToList();
        var statements = string.Join('\n', columns.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c =>
            $"create view {SchemaName}.{c.Key} as select {string.Join(", ", c.Value)} from {sourceSchema}.{c.Key};"));
        await using var create = new NpgsqlCommand(
            $"""
            drop schema if exists {SchemaName} cascade;
            create schema {SchemaName};
            {statements}
            """, connection, transaction);
        await create.ExecuteNonQueryAsync(cancellationToken);
        return views;
    }
}
