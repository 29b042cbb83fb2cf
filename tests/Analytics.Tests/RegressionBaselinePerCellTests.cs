using Analytics.Alerting;

namespace Analytics.Tests;

/// <summary>
/// A cell's own baseline leaves out the 3 hours before that cell's latest hour, whatever other cells hold: another
/// model's newer traffic must not pull a cell's recent drop into its own baseline (where it would hide).
/// </summary>
public class RegressionBaselinePerCellTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Another_cells_newer_hours_do_not_move_a_cells_trailing_gap()
    {
        // cirrus/voice: 10% down at hour 0, 50% down at hour 3 (two hours before its latest hour 5), then late ratings of
        // hour-5 responses at 30%. nimbus/chat has traffic up to hour 12 (the clock is at hour 12). With the gap anchored
        // on the latest hour of any cell (12 − 3 = 9), cirrus's 50% hour would sit in its baseline (30% over 2,000) and
        // the 30% ratings would never alert. Anchored on cirrus's own latest hour (5 − 3 = 2), the baseline is hour 0.
        var own = new CellKey("cirrus", "7", "voice");
        var other = new CellKey("nimbus", "3", "chat");
        var counts = new Dictionary<(DateTimeOffset Hour, CellKey Cell), (long Rated, long Down)>
        {
            [(Start, own)] = (1000, 100),
            [(Start.AddHours(3), own)] = (1000, 500),
            [(Start.AddHours(5), own)] = (0, 0),
        };
        for (var hour = 0; hour <= 12; hour++)
        {
            counts[(Start.AddHours(hour), other)] = (100, 20);
        }

        var now = Start.AddHours(12);
        var detector = new RegressionDetector(new AlertingOptions().Detector);
        detector.Look(now, Snapshot(counts));

        AlertTransition? raised = null;
        for (var look = 0; look < 300 && raised is null; look++)
        {
            var (rated, down) = counts[(Start.AddHours(5), own)];
            counts[(Start.AddHours(5), own)] = (rated + 20, down + 6);
            raised = detector.Look(now.AddMinutes(look), Snapshot(counts)).SingleOrDefault();
        }

        Assert.NotNull(raised);
        Assert.Equal(own, raised.Cell);
        Assert.Equal(BaselineKinds.TrailingWindow, raised.Evidence.BaselineKind);
        Assert.Equal(1000, raised.Evidence.BaselineRated);
        Assert.Equal(100, raised.Evidence.BaselineDown);
    }

    private static List<HourlyCellCount> Snapshot(Dictionary<(DateTimeOffset Hour, CellKey Cell), (long Rated, long Down)> counts) =>
        counts.Select(c => new HourlyCellCount(c.Key.Hour, c.Key.Cell, c.Value.Rated, c.Value.Down)).ToList();
}
