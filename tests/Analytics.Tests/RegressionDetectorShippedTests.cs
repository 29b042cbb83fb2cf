using System.Globalization;
using System.Text.RegularExpressions;
using Analytics.Alerting;

namespace Analytics.Tests;

/// <summary>
/// The regression detector as it ships: its default options are the ones docs/alerts.md's parameter table states,
/// and with them a rise from 20% to 30% thumbs down alerts on the look worked out by hand below. Also the
/// trailing-window baseline's 3-hour gap, and a new leader that restores an active alert from the store.
/// </summary>
public class RegressionDetectorShippedTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly CellKey Previous = new("atlas", "1", "chat");
    private static readonly CellKey Current = new("atlas", "2", "chat");

    [Fact]
    public void The_shipped_options_are_the_values_of_the_parameter_table_in_docs_alerts_md()
    {
        var doc = File.ReadAllText(Path.Combine(RepositoryRoot(), "docs", "alerts.md"));
        string Row(string parameter)
        {
            var match = Regex.Match(doc, $@"^\| {Regex.Escape(parameter)} \| ([^|]+) \|", RegexOptions.Multiline);
            Assert.True(match.Success, $"docs/alerts.md has no row '{parameter}' in its parameter table");
            return match.Groups[1].Value.Trim();
        }

        double Number(string cell) => double.Parse(Regex.Match(cell, @"^[0-9.]+").Value, CultureInfo.InvariantCulture);

        var shipped = new AlertingOptions().Detector;
        Assert.Equal(Number(Row("shift δ")), shipped.Shift);
        Assert.Equal(Number(Row("baseline margin")), shipped.BaselineMargin);
        Assert.Equal(Number(Row("threshold h")), shipped.Threshold);
        Assert.Equal(Number(Row("minimum window")), shipped.MinimumWindowRatings);
        Assert.Equal(Number(Row("minimum baseline")), shipped.MinimumBaselineRatings);
        Assert.Equal(Number(Row("recovery threshold")), shipped.RecoveryThreshold);
        var dispersion = Regex.Match(Row("dispersion φ"), @"(\d+)–(\d+)");
        Assert.Equal(double.Parse(dispersion.Groups[2].Value, CultureInfo.InvariantCulture), shipped.MaximumDispersion);
        Assert.Contains($"Until there are {shipped.MinimumDispersionDegreesOfFreedom} degrees of freedom", doc);
        Assert.Contains($"trailing {shipped.BaselineWindow.TotalDays:0} days", doc);
        Assert.Contains($"leaving out the last {shipped.TrailingGap.TotalHours:0} hours", doc);

        // And no shipped configuration overrides them.
        foreach (var settings in new[] { "src/Analytics.Worker/appsettings.json", "src/Analytics.Api/appsettings.json" })
        {
            Assert.DoesNotContain("\"Detector\"", File.ReadAllText(Path.Combine(RepositoryRoot(), settings)));
        }
    }

    [Fact]
    public void With_the_shipped_options_a_rise_from_20_to_30_percent_alerts_on_the_look_worked_out_by_hand()
    {
        // Version 1: 2,000 ratings at 20% down in one hour. Too few complete hours to estimate the dispersion
        // (fewer than 10 degrees of freedom), so φ = 4 is assumed. By hand:
        //   SE = √(0.2 × 0.8 / 2000) = 0.0089443; p0 = 0.2 + 1.5 × SE × √4 = 0.2268328; p1 = p0 + 0.06 = 0.2868328;
        //   one look of 6 down in 20: [6 ln(p1/p0) + 14 ln((1 − p1)/(1 − p0))] / 4 = 0.0693014;
        //   h = 10 is crossed after ⌈10 / 0.0693014⌉ = 145 looks (0-based look 144), a window of 2,900 ratings.
        var counts = new Dictionary<(DateTimeOffset Hour, CellKey Cell), (long Rated, long Down)>
        {
            [(Start, Previous)] = (2000, 400),
            [(Start.AddHours(1), Current)] = (0, 0),
        };
        var detector = new RegressionDetector(new AlertingOptions().Detector);
        Assert.Empty(detector.Look(Start.AddHours(1), Snapshot(counts)));

        (int Look, AlertTransition Transition)? first = null;
        for (var look = 0; look < 400 && first is null; look++)
        {
            var hour = Start.AddHours(1 + ((look + 1) / 60));
            var (rated, down) = counts.GetValueOrDefault((hour, Current));
            counts[(hour, Current)] = (rated + 20, down + 6);
            if (detector.Look(Start.AddHours(1).AddMinutes(look + 1), Snapshot(counts)) is [var transition])
            {
                first = (look, transition);
            }
        }

        Assert.NotNull(first);
        var raised = Assert.IsType<AlertRaised>(first.Value.Transition);
        Assert.Equal(144, first.Value.Look);
        Assert.Equal(4, raised.Evidence.Dispersion);
        Assert.Equal(2900, raised.Evidence.WindowRated);
        Assert.Equal(0.3, raised.Evidence.WindowDownRate, 9);
        Assert.Equal(2000, raised.Evidence.BaselineRated);
        Assert.Equal(10, raised.Evidence.Threshold);
        Assert.InRange(raised.Evidence.Statistic, 10, 10 + 0.0693014);
    }

    [Fact]
    public void A_cells_own_baseline_leaves_out_the_3_hours_before_its_latest_hour()
    {
        // No previous version: the cell is compared with its own trailing 7 days, leaving out the last 3 hours. The
        // 1,000 ratings at 50% down two hours before the latest hour are inside the gap: if they counted, the baseline
        // would be 30% and traffic at 30% would never alert.
        var own = new CellKey("cirrus", "7", "voice");
        var counts = new Dictionary<(DateTimeOffset Hour, CellKey Cell), (long Rated, long Down)>
        {
            [(Start, own)] = (1000, 100),
            [(Start.AddHours(3), own)] = (1000, 500),
            [(Start.AddHours(5), own)] = (0, 0),
        };
        var detector = new RegressionDetector(new AlertingOptions().Detector);
        detector.Look(Start.AddHours(5), Snapshot(counts));

        AlertTransition? raised = null;
        for (var look = 0; look < 300 && raised is null; look++)
        {
            var (rated, down) = counts[(Start.AddHours(5), own)];
            counts[(Start.AddHours(5), own)] = (rated + 20, down + 6);
            raised = detector.Look(Start.AddHours(5).AddMinutes(look), Snapshot(counts)).SingleOrDefault();
        }

        Assert.NotNull(raised);
        Assert.Equal(BaselineKinds.TrailingWindow, raised.Evidence.BaselineKind);
        Assert.Equal(1000, raised.Evidence.BaselineRated);
        Assert.Equal(100, raised.Evidence.BaselineDown);
    }

    [Fact]
    public void A_new_leader_that_restores_an_active_alert_raises_no_second_one_and_resolves_the_restored_one()
    {
        var counts = new Dictionary<(DateTimeOffset Hour, CellKey Cell), (long Rated, long Down)>
        {
            [(Start, Previous)] = (2000, 400),
            [(Start.AddHours(1), Current)] = (3000, 900), // the bad run the first leader alerted on
        };
        var stored = new RegressionEvidence(BaselineKinds.PreviousVersion, "1", 2000, 400, 0.2, 0.18, 0.22,
            Start.AddHours(1), Start.AddHours(1).AddMinutes(50), 3000, 900, 0.3, 0.28, 0.32, 10.2, 10, 0.06, 4, 0.0001);
        var alertId = Guid.NewGuid();

        // The new leader: a fresh detector, the active alert restored from the store before its first look.
        var leader = new RegressionDetector(new AlertingOptions().Detector);
        leader.Restore(Current, alertId, stored);
        Assert.Equal(alertId, leader.ActiveAlerts[Current]);
        leader.Look(Start.AddHours(2), Snapshot(counts));

        var transitions = new List<AlertTransition>();
        for (var look = 0; look < 200; look++) // still bad: no second alert for the same cell
        {
            counts[(Start.AddHours(2), Current)] = (counts.GetValueOrDefault((Start.AddHours(2), Current)).Rated + 20, counts.GetValueOrDefault((Start.AddHours(2), Current)).Down + 6);
            transitions.AddRange(leader.Look(Start.AddHours(2).AddMinutes(look), Snapshot(counts)));
        }

        Assert.Empty(transitions);
        for (var look = 0; look < 3000 && transitions.Count == 0; look++) // back to the baseline's 20%: it resolves
        {
            var hour = Start.AddHours(3 + (look / 60));
            var (rated, down) = counts.GetValueOrDefault((hour, Current));
            counts[(hour, Current)] = (rated + 20, down + 4);
            transitions.AddRange(leader.Look(hour.AddMinutes(look % 60), Snapshot(counts)));
        }

        var cleared = Assert.IsType<AlertCleared>(Assert.Single(transitions));
        Assert.Equal(alertId, cleared.AlertId);
        Assert.Empty(leader.ActiveAlerts);
    }

    private static List<HourlyCellCount> Snapshot(Dictionary<(DateTimeOffset Hour, CellKey Cell), (long Rated, long Down)> counts) =>
        counts.Select(c => new HourlyCellCount(c.Key.Hour, c.Key.Cell, c.Value.Rated, c.Value.Down)).ToList();

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Analytics.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Analytics.sln not found above the test binaries");
    }
}
