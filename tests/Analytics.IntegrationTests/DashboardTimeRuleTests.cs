using System.Data;
using System.Globalization;
using Npgsql;

namespace Analytics.IntegrationTests;

/// <summary>
/// The reasons panels read the hourly reason counters when no slice filter is set and the facts when one is. Both
/// paths follow one time rule (every hour that overlaps the range counts whole), so totals do not jump when a filter
/// is set. The range here starts and ends inside an hour: with $__timeFilter on the counters' hour and on the facts'
/// time, the first partial hour was dropped on one path and kept on the other.
/// </summary>
public sealed partial class DashboardQueryTests
{
    [Theory]
    [InlineData("Thumbs-down reasons per cell")]
    [InlineData("Thumbs-down reasons over time")]
    public async Task A_reasons_panel_agrees_on_both_paths_over_a_range_that_is_not_hour_aligned(string title)
    {
        var from = DashboardPlatformFixture.TrafficStart.AddMinutes(35);
        var to = DashboardPlatformFixture.TrafficStart.AddHours(2).AddMinutes(50);
        Assert.NotEqual(0, from.Minute);
        Assert.NotEqual(0, to.Minute);

        var (_, dashboard) = DashboardFiles.Load().Single(d => d.File == "capability-failures.json");
        var panel = DashboardFiles.Panels(dashboard).Single(p => (string?)p["title"] == title);
        var variables = DashboardFiles.Variables(dashboard).Where(v => (string?)v["type"] == "query").ToList();
        await using var reader = NpgsqlDataSource.Create(fixture.ReaderConnectionString);

        GrafanaSqlExpander AllValues()
        {
            var expander = new GrafanaSqlExpander(from, to, "1h");
            foreach (var v in variables)
            {
                expander.WithRaw((string)v["name"]!, (string)v["allValue"]!);
            }

            return expander;
        }

        // Every surface and both custom-instruction values: a slice filter that filters nothing out, so it must not
        // change a number, only the path.
        var counters = AllValues();
        var facts = AllValues();
        foreach (var name in new[] { "surface", "custom_instructions" })
        {
            var variable = variables.Single(v => (string?)v["name"] == name);
            var options = await RunAsync(reader, counters.Expand((string)variable["query"]!), $"${name}");
            facts.With(name, options.Rows.Cast<DataRow>().Select(r => Convert.ToString(r[0], CultureInfo.InvariantCulture)!).ToList());
        }

        var sql = (string)panel["targets"]![0]!["rawSql"]!;
        var fromCounters = Rows(await RunAsync(reader, counters.Expand(sql), $"{title} (counters)"));
        var fromFacts = Rows(await RunAsync(reader, facts.Expand(sql), $"{title} (facts)"));
        Assert.True(fromCounters.Count > 3, $"{title}: {fromCounters.Count} rows");
        Assert.Equal(fromFacts, fromCounters);

        // The partial first hour is in: the counters' hour 00:00 holds downs, and it starts before the range.
        await using var owner = NpgsqlDataSource.Create(fixture.Platform.ConnectionString);
        await using var firstHour = owner.CreateCommand("select coalesce(sum(down), 0) from analytics.sat_cell_reasons where hour = $1 and capability <> '*'");
        firstHour.Parameters.Add(new NpgsqlParameter { Value = DashboardPlatformFixture.TrafficStart });
        Assert.True((decimal)(await firstHour.ExecuteScalarAsync())! > 0, "no downs in the first hour: the range would not test the rule");

        static List<string> Rows(DataTable table) => table.Rows.Cast<DataRow>()
            .Select(r => string.Join(" | ", r.ItemArray.Select(v => v is double d ? d.ToString("F9", CultureInfo.InvariantCulture) : Convert.ToString(v, CultureInfo.InvariantCulture))))
            .ToList();
    }

}
