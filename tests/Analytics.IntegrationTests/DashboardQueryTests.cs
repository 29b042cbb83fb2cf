using Marten;
using Analytics.Conversations;
using Analytics.Alerting;
using System.Data;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Analytics.Contracts;
using Analytics.Dashboards;
using Analytics.Satisfaction;
using Analytics.Simulator;
using Npgsql;

namespace Analytics.IntegrationTests;

/// <summary>
/// One platform for the class: simulated traffic through the real broker and worker into the projection tables,
/// then Grafana's read-only role is granted its SELECTs the way the worker does it at startup.
/// </summary>
public sealed class DashboardPlatformFixture : IAsyncLifetime
{
    public static readonly DateTimeOffset TrafficStart = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);

    public TestPlatform Platform { get; private set; } = null!;

    public WorkerProcess Worker { get; private set; } = null!;

    public bool GrantedBeforeTablesExisted { get; private set; }

    /// <summary>The test database as Grafana's role analytics_dashboard.</summary>
    public string ReaderConnectionString => new NpgsqlConnectionStringBuilder(Platform.ConnectionString)
    {
        Username = DashboardReaderRole.RoleName,
        Password = "analytics_dashboard",
        MaxPoolSize = 5,
    }.ConnectionString;

    public async Task InitializeAsync()
    {
        Platform = await TestPlatform.CreateAsync();
        await using var dataSource = NpgsqlDataSource.Create(Platform.ConnectionString);
        GrantedBeforeTablesExisted = await DashboardReaderRole.TryGrantAsync(dataSource, CancellationToken.None);

        Worker = await Platform.StartWorkerAsync();
        // Two conversations a minute of virtual time: 4000 events span several hours, so time series have several buckets.
        var events = new TrafficModel(new TrafficOptions { Seed = 6, Start = TrafficStart, ConversationsPerMinute = 2 })
            .Generate().Take(4000).ToList();
        await using (var channel = await Platform.OpenChannelAsync())
        {
            foreach (var chunk in events.Chunk(100))
            {
                await Platform.PublishRawAsync(channel, JsonSerializer.Serialize(FeedbackEventBatch.From(chunk)));
            }

            // A duplicate and a refusal, so every ingestion series has a value.
            await Platform.PublishRawAsync(channel, JsonSerializer.Serialize(FeedbackEventBatch.From(events.Take(5))));
            await Platform.PublishRawAsync(channel, """[{"type":"no.such.event","eventId":"not-a-guid"}]""");
        }

        await TestEnvironment.WaitUntilAsync(
            async () => await Platform.StoredEventCountAsync() >= events.Count && await Platform.ProjectionCaughtUpAsync()
                && await Platform.ClustererCaughtUpAsync()
                && await Worker.OptionalMetricAsync("analytics_ingest_events_duplicate_total") > 0
                && await Worker.OptionalMetricAsync("analytics_ingest_events_refused_total") > 0,
            TimeSpan.FromSeconds(90),
            async () => $"stored {await Platform.StoredEventCountAsync()} of {events.Count}; projection caught up: {await Platform.ProjectionCaughtUpAsync()}; clusterer caught up: {await Platform.ClustererCaughtUpAsync()} "
                + $"({await ScalarAsync("select string_agg(name || '=' || last_seq_id, ', ') from analytics.mt_event_progression")} of "
                + $"{await ScalarAsync("select max(seq_id) || ' (' || count(*) filter (where type = 'tombstone') || ' tombstones)' from analytics.mt_events")}); "
                + $"duplicates {await Worker.OptionalMetricAsync("analytics_ingest_events_duplicate_total")}, refused {await Worker.OptionalMetricAsync("analytics_ingest_events_refused_total")}\n{Worker.Output}");

        // Two regression alerts as the worker's detector stores them (one active and acknowledged, one resolved), for the
        // Regressions dashboard and the Grafana alert rules; the inline projection writes analytics.alerts.
        await using (var store = DocumentStore.For(options => EventStoreRegistration.ConfigureEventStore(options, dataSource)))
        await using (var session = store.LightweightSession())
        {
            RegressionEvidence Evidence(double windowRate) => new(BaselineKinds.PreviousVersion, "2026-10", 900, 180, 0.2, 0.175, 0.227,
                TrafficStart.AddHours(2), TrafficStart.AddHours(3), 200, (long)(200 * windowRate), windowRate, windowRate - 0.06, windowRate + 0.06,
                11.2, 10, 0.06, 1.1, 0.0004);
            var active = new CellKey("atlas", "2026-11", "browsing");
            var resolved = new CellKey("borealis", "1.5", "chat");
            var activeId = Guid.CreateVersion7();
            var resolvedId = Guid.CreateVersion7();
            session.Events.Append(RegressionWatch.StreamIdOf(active), new RegressionDetected(activeId, active, TrafficStart.AddHours(3), Evidence(0.33)),
                new RegressionAcknowledged(activeId, "api-key:triager", TrafficStart.AddHours(4), "looking"));
            session.Events.Append(RegressionWatch.StreamIdOf(resolved), new RegressionDetected(resolvedId, resolved, TrafficStart.AddHours(2), Evidence(0.3)),
                new RegressionResolved(resolvedId, resolved, TrafficStart.AddHours(5), Evidence(0.19)));
            await session.SaveChangesAsync();

            // The outbox of the active alert: one delivery done, one failing (the Regressions dashboard's deliveries panel).
            await using var deliveries = dataSource.CreateCommand(
                $"insert into {AlertDeliveries.Table} (delivery_id, alert_id, channel, payload, created_at, next_attempt_at, attempts, delivered_at, last_error) values "
                + "(gen_random_uuid(), $1, 'rabbitmq', '{}', $2, $2, 1, $2, null), (gen_random_uuid(), $1, 'webhook:ops', '{}', $2, $2 + interval '1 hour', 3, null, 'HTTP 503')");
            deliveries.Parameters.Add(new NpgsqlParameter { Value = activeId });
            deliveries.Parameters.Add(new NpgsqlParameter { Value = TrafficStart.AddHours(3) });
            await deliveries.ExecuteNonQueryAsync();
        }

        Assert.True(await DashboardReaderRole.TryGrantAsync(dataSource, CancellationToken.None));
    }

    public async Task DisposeAsync() => await Platform.DisposeAsync();

    private async Task<string?> ScalarAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(Platform.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToString(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }
}

/// <summary>
/// Every SQL query of every dashboard (panels and variables), expanded as Grafana expands it, runs as the read-only
/// role against projection tables filled by the real worker, and returns the columns its panel uses.
/// </summary>
public sealed partial class DashboardQueryTests(DashboardPlatformFixture fixture) : IClassFixture<DashboardPlatformFixture>
{
    private static readonly DateTimeOffset From = DashboardPlatformFixture.TrafficStart.AddHours(-6);
    private static readonly DateTimeOffset To = DashboardPlatformFixture.TrafficStart.AddDays(2);

    [Fact]
    public void The_role_is_granted_only_once_the_projection_tables_exist() => Assert.False(fixture.GrantedBeforeTablesExisted);

    [Fact]
    public async Task Every_SQL_panel_runs_as_the_read_only_role_with_all_and_with_single_values_and_returns_its_columns()
    {
        await using var reader = NpgsqlDataSource.Create(fixture.ReaderConnectionString);
        var checkedQueries = 0;
        foreach (var (file, dashboard) in DashboardFiles.Load())
        {
            var variables = DashboardFiles.Variables(dashboard).Where(v => (string?)v["type"] == "query").ToList();
            if (!variables.Any(v => (string?)v["datasource"]?["type"] == DashboardFiles.PostgresType))
            {
                continue;
            }

            // Scenarios: everything "All"; each variable in turn on its first option; every variable on its first option.
            var scenarios = new List<(string Name, Dictionary<string, string?> Pick)> { ("all", []) };
            scenarios.AddRange(variables.Select(v => ($"{v["name"]}=first", new Dictionary<string, string?> { [(string)v["name"]!] = null })));
            scenarios.Add(("all first", variables.ToDictionary(v => (string)v["name"]!, _ => (string?)null)));

            foreach (var (scenario, pick) in scenarios)
            {
                var (expander, options) = await ResolveVariablesAsync(reader, file, variables, pick);
                foreach (var panel in DashboardFiles.Panels(dashboard).Where(p => p["targets"] is JsonArray))
                {
                    // A repeated panel: Grafana draws one copy per option, the variable set to that one value in each copy;
                    // some copies may be empty (a version of another model), not all of them.
                    var copies = (string?)panel["repeat"] is { } repeat && !pick.ContainsKey(repeat)
                        ? options[repeat].Select(option => Copy(expander).With(repeat, [option])).ToList()
                        : [expander];
                    foreach (var target in panel["targets"]!.AsArray().Select(t => t!.AsObject())
                                 .Where(t => DashboardFiles.TypeOf(t, panel) == DashboardFiles.PostgresType))
                    {
                        var where = $"{file} / {panel["title"]} / {target["refId"]} ({scenario})";
                        var rows = 0;
                        foreach (var copy in copies)
                        {
                            var sql = copy.Expand((string)target["rawSql"]!);
                            var result = await RunAsync(reader, sql, where);
                            CheckColumns(panel, target, result, where);
                            rows += result.Rows.Count;
                            checkedQueries++;
                        }

                        Assert.True(rows > 0 || scenario == "all first", $"{where}: no rows");
                    }
                }
            }
        }

        Assert.True(checkedQueries >= 3 * 8, $"only {checkedQueries} queries checked");
    }

    [Fact]
    public async Task Wilson_bounds_in_SQL_equal_the_APIs()
    {
        var (_, dashboard) = DashboardFiles.Load().Single(d => d.File == "model-overview.json");
        var panel = DashboardFiles.Panels(dashboard).Single(p => (string?)p["title"] == "Model versions in the window");
        var expander = new GrafanaSqlExpander(From, To, "1h");
        foreach (var v in DashboardFiles.Variables(dashboard).Where(v => (string?)v["type"] == "query"))
        {
            expander.WithRaw((string)v["name"]!, (string)v["allValue"]!);
        }

        await using var reader = NpgsqlDataSource.Create(fixture.ReaderConnectionString);
        var table = await RunAsync(reader, expander.Expand((string)panel["targets"]![0]!["rawSql"]!), "summary");
        Assert.NotEmpty(table.Rows);
        foreach (DataRow row in table.Rows)
        {
            var (up, down, rated, responses) = ((long)row["up"], (long)row["down"], (long)row["rated"], (long)row["responses"]);
            var satisfaction = Proportion.Of(up, up + down);
            var ratingRate = Proportion.Of(rated, responses);
            Assert.Equal(satisfaction.Lower!.Value, (double)row["satisfaction_lower"], 9);
            Assert.Equal(satisfaction.Upper!.Value, (double)row["satisfaction_upper"], 9);
            Assert.Equal(ratingRate.Lower!.Value, (double)row["rating_rate_lower"], 9);
            Assert.Equal(ratingRate.Upper!.Value, (double)row["rating_rate_upper"], 9);
        }
    }

    [Theory]
    [InlineData("Thumbs-down reasons per cell")]
    [InlineData("Thumbs-down reasons over time")]
    public async Task A_reasons_panel_reads_the_same_from_the_reason_counters_as_from_the_facts(string title)
    {
        // With every slice "All" the panel reads sat_cell_reasons; with a slice filter it reads the facts. Selecting every
        // surface and both custom-instruction values filters nothing out (each conversation has them), so both must agree.
        var (file, dashboard) = DashboardFiles.Load().Single(d => d.File == "capability-failures.json");
        var panel = DashboardFiles.Panels(dashboard).Single(p => (string?)p["title"] == title);
        var variables = DashboardFiles.Variables(dashboard).Where(v => (string?)v["type"] == "query").ToList();
        await using var reader = NpgsqlDataSource.Create(fixture.ReaderConnectionString);
        var (counters, options) = await ResolveVariablesAsync(reader, file, variables, []);
        var facts = Copy(counters).With("surface", options["surface"]).With("custom_instructions", options["custom_instructions"]);

        var sql = (string)panel["targets"]![0]!["rawSql"]!;
        var fromCounters = Rows(await RunAsync(reader, counters.Expand(sql), $"{title} (counters)"));
        var fromFacts = Rows(await RunAsync(reader, facts.Expand(sql), $"{title} (facts)"));
        Assert.True(fromCounters.Count > 3, $"{title}: {fromCounters.Count} rows");
        Assert.Equal(fromFacts, fromCounters);

        static List<string> Rows(DataTable table) => table.Rows.Cast<DataRow>()
            .Select(r => string.Join(" | ", r.ItemArray.Select(v => v is double d ? d.ToString("F9", CultureInfo.InvariantCulture) : Convert.ToString(v, CultureInfo.InvariantCulture))))
            .ToList();
    }

    [Theory]
    [InlineData("select count(*) from analytics.mt_events")]
    [InlineData("select count(*) from analytics.mt_streams")]
    [InlineData("select count(*) from analytics.mt_event_progression")]
    [InlineData("insert into analytics.sat_ratings (turn_id, conversation_id, occurred_at, rating, reasons, model_id, model_version, capabilities) values (gen_random_uuid(), gen_random_uuid(), now(), 'up', '{}', 'm', 'v', '{}')")]
    [InlineData("update analytics.sat_responses set latency_ms = 0")]
    [InlineData("delete from analytics.sat_comparisons")]
    [InlineData("delete from analytics.sat_conversations")]
    [InlineData("truncate analytics.sat_ratings")]
    [InlineData("create table analytics.grafana_scratch (x int)")]
    [InlineData("create table public.grafana_scratch (x int)")]
    public async Task The_read_only_role_cannot_read_the_event_store_or_write_even_in_a_read_write_transaction(string statement)
    {
        await using var connection = new NpgsqlConnection(fixture.ReaderConnectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        // The role's sessions default to read-only; lift that so the privilege itself is what refuses.
        await using (var readWrite = new NpgsqlCommand("set transaction read write", connection, transaction))
        {
            await readWrite.ExecuteNonQueryAsync();
        }

        await using var command = new NpgsqlCommand(statement, connection, transaction);
        var refused = await Assert.ThrowsAsync<PostgresException>(() => command.ExecuteNonQueryAsync());
        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, refused.SqlState);
    }

    [Fact]
    public async Task Every_alert_rule_query_runs_as_the_read_only_role_and_returns_a_numeric_value()
    {
        await using var reader = NpgsqlDataSource.Create(fixture.ReaderConnectionString);
        var expander = new GrafanaSqlExpander(From, To, "1h");
        var checkedQueries = 0;
        foreach (var (file, rule) in DashboardFiles.AlertRules())
        {
            foreach (var query in rule["data"]!.AsArray().Select(d => d!.AsObject()).Where(d => (string?)d["datasourceUid"] == "analytics-pg"))
            {
                var where = $"{file} / {rule["title"]} / {query["refId"]}";
                var result = await RunAsync(reader, expander.Expand((string)query["model"]!["rawSql"]!), where);
                Assert.True(result.Rows.Count > 0, $"{where}: no rows");
                Assert.Single(result.Columns.Cast<DataColumn>(), c => IsNumeric(c.DataType));
                checkedQueries++;
            }
        }

        Assert.True(checkedQueries >= 2, $"only {checkedQueries} alert queries checked");
    }

    [Fact]
    public async Task The_read_only_role_holds_select_on_the_dashboard_views_and_nothing_else()
    {
        await using var connection = new NpgsqlConnection(fixture.Platform.ConnectionString);
        await connection.OpenAsync();
        var grants = await ListAsync(connection,
            "select table_schema || '.' || table_name || ':' || privilege_type from information_schema.role_table_grants where grantee = 'analytics_dashboard'");
        var projectionTables = await ListAsync(connection,
            "select tablename from pg_tables where schemaname = 'analytics' and (tablename like 'sat\\_%' or tablename like 'tri\\_%' or tablename in ('alerts', 'alert_deliveries'))");
        Assert.Superset(DashboardReaderRole.RequiredTables.Select(t => t.Split('.')[1]).ToHashSet(), projectionTables.ToHashSet());
        Assert.Equal(projectionTables.Select(t => $"{DashboardViews.SchemaName}.{t}:SELECT").Order(StringComparer.Ordinal), grants.Order(StringComparer.Ordinal));

        await using var session = new NpgsqlConnection(fixture.ReaderConnectionString);
        await session.OpenAsync();
        await using var readOnly = new NpgsqlCommand("show default_transaction_read_only", session);
        Assert.Equal("on", (string?)await readOnly.ExecuteScalarAsync());
    }

    private static async Task<List<string>> ListAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var values = new List<string>();
        while (await reader.ReadAsync())
        {
            values.Add(reader.GetString(0));
        }

        return values;
    }

    [Fact]
    public async Task Every_Prometheus_metric_a_panel_uses_is_exposed_by_the_worker_or_RabbitMQ()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        // A request first, so the ASP.NET Core request histogram has a sample on the next scrape.
        await http.GetStringAsync($"http://127.0.0.1:{fixture.Worker.Port}/health");
        var exposed = SampleNames(await http.GetStringAsync($"http://127.0.0.1:{fixture.Worker.Port}/metrics"));
        var rabbit = await RabbitMqSampleNamesAsync(http);
        string[] prometheusOwn = ["up"]; // synthesised by Prometheus for every scrape target

        var used = new List<(string Where, string Metric)>();
        foreach (var (file, dashboard) in DashboardFiles.Load())
        {
            foreach (var panel in DashboardFiles.Panels(dashboard).Where(p => p["targets"] is JsonArray))
            {
                used.AddRange(panel["targets"]!.AsArray().Select(t => t!.AsObject())
                    .Where(t => DashboardFiles.TypeOf(t, panel) == DashboardFiles.PrometheusType)
                    .SelectMany(t => DashboardFiles.PromMetricNames((string)t["expr"]!).Select(m => ($"{file} / {panel["title"]}", m))));
            }

            used.AddRange(DashboardFiles.Variables(dashboard)
                .Where(v => (string?)v["datasource"]?["type"] == DashboardFiles.PrometheusType)
                .SelectMany(v => LabelValuesMetric().Matches((string)v["definition"]!).Select(m => ($"{file} / ${v["name"]}", m.Groups[1].Value))));
        }

        Assert.Contains(used, u => u.Metric.StartsWith("analytics_ingest_", StringComparison.Ordinal));
        Assert.Contains(used, u => u.Metric.StartsWith("rabbitmq_", StringComparison.Ordinal));
        var missing = used.Where(u => !exposed.Contains(u.Metric) && !rabbit.Contains(u.Metric) && !prometheusOwn.Contains(u.Metric)).ToList();
        Assert.True(missing.Count == 0, "not exposed: " + string.Join("; ", missing) + "\nworker exposes: " + string.Join(" ", exposed.Order()));
        Assert.True(await fixture.Worker.MetricAsync("analytics_ingest_events_stored_total") >= 4000);
    }

    private static async Task<HashSet<string>> RabbitMqSampleNamesAsync(HttpClient http)
    {
        var port = Environment.GetEnvironmentVariable("ANALYTICS_TEST_RABBITMQ_PROMETHEUS_PORT") ?? "15692";
        var root = $"http://{TestEnvironment.RabbitHost}:{port}";
        // No fallback list: the names must come from the broker's own rabbitmq_prometheus endpoint, or the test fails.
        try
        {
            var names = SampleNames(await http.GetStringAsync($"{root}/metrics"));
            names.UnionWith(SampleNames(await http.GetStringAsync($"{root}/metrics/detailed?family=queue_coarse_metrics&family=queue_consumer_count")));
            return names;
        }
        catch (HttpRequestException ex)
        {
            throw new InvalidOperationException(
                $"RabbitMQ's Prometheus endpoint {root} did not answer (rabbitmq_prometheus plugin; port from ANALYTICS_TEST_RABBITMQ_PROMETHEUS_PORT): {ex.Message}", ex);
        }
    }

    private static HashSet<string> SampleNames(string exposition) =>
        exposition.Split('\n')
            .Where(line => line.Length > 0 && line[0] != '#')
            .Select(line => line[..line.IndexOfAny([' ', '{'])])
            .ToHashSet(StringComparer.Ordinal);

    /// <summary>Runs each query variable's SQL (as Grafana would, in order) and sets it to All or to its first option.</summary>
    private static async Task<(GrafanaSqlExpander Expander, Dictionary<string, List<string>> Options)> ResolveVariablesAsync(
        NpgsqlDataSource reader, string file, List<JsonObject> variables, Dictionary<string, string?> pick)
    {
        var expander = new GrafanaSqlExpander(From, To, "1h");
        var options = new Dictionary<string, List<string>>();
        foreach (var variable in variables)
        {
            var name = (string)variable["name"]!;
            var result = await RunAsync(reader, expander.Expand((string)variable["query"]!), $"{file} / variable ${name}");
            var values = result.Rows.Cast<DataRow>().Select(r => Convert.ToString(r[0], CultureInfo.InvariantCulture)!).ToList();
            Assert.True(values.Count > 0, $"{file}: variable ${name} has no options");
            Assert.True((bool?)variable["multi"] == true && (bool?)variable["includeAll"] == true, $"{file}: ${name} must offer All");
            options[name] = values;
            if (pick.ContainsKey(name))
            {
                expander.With(name, [values[0]]);
            }
            else
            {
                expander.WithAll(name, (string?)variable["allValue"], values);
            }
        }

        return (expander, options);
    }

    private static GrafanaSqlExpander Copy(GrafanaSqlExpander expander) => expander.Clone();

    private static async Task<DataTable> RunAsync(NpgsqlDataSource reader, string sql, string where)
    {
        try
        {
            await using var command = reader.CreateCommand(sql);
            await using var rows = await command.ExecuteReaderAsync();
            var table = new DataTable();
            table.Load(rows);
            return table;
        }
        catch (PostgresException e)
        {
            Assert.Fail($"{where}: {e.SqlState} {e.MessageText}\n{sql}");
            throw;
        }
    }

    private static void CheckColumns(JsonObject panel, JsonObject target, DataTable result, string where)
    {
        var columns = result.Columns.Cast<DataColumn>().Select(c => c.ColumnName).ToList();

        if ((string?)target["format"] == "time_series")
        {
            Assert.Equal("time", columns[0]);
            var timeType = result.Columns[0].DataType;
            Assert.True(timeType == typeof(double) || timeType == typeof(decimal) || timeType == typeof(DateTime) || timeType == typeof(long),
                $"{where}: time column is {timeType}");
            Assert.True(result.Columns.Cast<DataColumn>().Skip(1).Any(c => IsNumeric(c.DataType)), $"{where}: no value column");
            Assert.True(result.Columns.Cast<DataColumn>().Skip(1).All(c => IsNumeric(c.DataType) || c.ColumnName == "metric"),
                $"{where}: a time series may only have time, metric and numeric columns: {string.Join(", ", columns)}");
            var times = result.Rows.Cast<DataRow>().Select(r => Convert.ToDouble(r[0] is DateTime t ? new DateTimeOffset(t, TimeSpan.Zero).ToUnixTimeSeconds() : r[0], CultureInfo.InvariantCulture)).ToList();
            Assert.True(times.SequenceEqual(times.Order()), $"{where}: rows are not sorted by time");
        }

        // Every column the panel names (overrides, band fills, matrix transformations) comes back.
        var named = new List<string>();
        foreach (var over in panel["fieldConfig"]?["overrides"]?.AsArray() ?? [])
        {
            var matcher = over!["matcher"]!;
            var option = (string)matcher["options"]!;
            if ((string?)matcher["id"] == "byName" && !option.Contains('\\', StringComparison.Ordinal))
            {
                named.Add(option);
            }
            else if ((string?)matcher["id"] == "byRegexp")
            {
                Assert.True(columns.Any(c => Regex.IsMatch(c, option)), $"{where}: no column matches {option}");
            }

            named.AddRange(over["properties"]!.AsArray().Where(p => (string?)p!["id"] == "custom.fillBelowTo").Select(p => (string)p!["value"]!));
        }

        foreach (var transformation in panel["transformations"]?.AsArray() ?? [])
        {
            if ((string?)transformation!["id"] == "groupingToMatrix")
            {
                named.AddRange(new[] { "columnField", "rowField", "valueField" }.Select(k => (string)transformation["options"]![k]!));
            }
        }

        foreach (var name in named)
        {
            Assert.True(columns.Contains(name), $"{where}: the panel uses column {name}, the query returns {string.Join(", ", columns)}");
        }

        // An interval never excludes its estimate.
        foreach (var estimate in columns.Where(c => columns.Contains(c + "_lower") && columns.Contains(c + "_upper")))
        {
            foreach (DataRow row in result.Rows)
            {
                if (row[estimate] is double value)
                {
                    Assert.InRange(value, (double)row[estimate + "_lower"] - 1e-12, (double)row[estimate + "_upper"] + 1e-12);
                    Assert.InRange(value, 0, 1);
                }
            }
        }
    }

    private static bool IsNumeric(Type type) =>
        type == typeof(double) || type == typeof(decimal) || type == typeof(long) || type == typeof(int) || type == typeof(float);

    [GeneratedRegex(@"label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)")]
    private static partial Regex LabelValuesMetric();
}
