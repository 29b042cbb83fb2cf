using Analytics.Conversations;
using Npgsql;

namespace Analytics.IntegrationTests;

/// <summary>
/// Every row of the satisfaction views as text, to compare two states row for row. The tables are every sat_* table
/// PostgreSQL has in the event store's schema (pg_tables), not a list kept by the code under test: a new view table
/// is compared as soon as it exists.
/// </summary>
public static class SatisfactionTables
{
    public static async Task<List<string>> NamesAsync(NpgsqlDataSource dataSource)
    {
        await using var command = dataSource.CreateCommand(
            $"select schemaname || '.' || tablename from pg_tables where schemaname = '{EventStoreRegistration.SchemaName}' and tablename like 'sat\\_%' order by tablename");
        await using var reader = await command.ExecuteReaderAsync();
        var tables = new List<string>();
        while (await reader.ReadAsync())
        {
            tables.Add(reader.GetString(0));
        }

        Assert.True(tables.Count > 0, "no sat_* tables in the database");
        return tables;
    }

    public static async Task<List<string>> RowsAsync(NpgsqlDataSource dataSource)
    {
        var rows = new List<string>();
        foreach (var table in await NamesAsync(dataSource))
        {
            await using var command = dataSource.CreateCommand($"select '{table}: ' || t::text from {table} t order by t::text");
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                rows.Add(reader.GetString(0));
            }
        }

        return rows;
    }
}
