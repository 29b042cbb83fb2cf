using Analytics.Satisfaction;
using Npgsql;

namespace Analytics.IntegrationTests;

/// <summary>Every row of the satisfaction views as text, table by table in key order, to compare two states row for row.</summary>
public static class SatisfactionTables
{
    public static async Task<List<string>> RowsAsync(NpgsqlDataSource dataSource)
    {
        var rows = new List<string>();
        foreach (var (table, key) in SatisfactionRebuild.TableKeys)
        {
            await using var command = dataSource.CreateCommand($"select '{table}: ' || t::text from {table} t order by {key}");
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                rows.Add(reader.GetString(0));
            }
        }

        return rows;
    }
}
