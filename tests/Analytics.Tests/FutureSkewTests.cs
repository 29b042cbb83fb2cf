using System.Globalization;
using Analytics.Alerting;
using Analytics.Contracts;
using Analytics.Ingesting;

namespace Analytics.Tests;

/// <summary>
/// Producer clocks that run ahead: how far occurredAt may lie after the time of receipt (a setting, minutes by default),
/// and that a time ahead of the clock never moves a window past it.
/// </summary>
public class FutureSkewTests
{
    private static ValidatedEvent RatedAt(DateTimeOffset occurredAt, TimeSpan? maxFutureSkew = null)
    {
        var node = SampleEvents.AsNode(SampleEvents.Rated());
        node["occurredAt"] = occurredAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);
        return maxFutureSkew is { } skew
            ? FeedbackEventValidator.Validate(SampleEvents.AsElement(node), SampleEvents.Now, skew)
            : FeedbackEventValidator.Validate(SampleEvents.AsElement(node), SampleEvents.Now);
    }

    [Fact]
    public void The_default_skew_is_minutes_not_a_day()
    {
        Assert.Equal(TimeSpan.FromMinutes(5), new IngestionOptions().MaxFutureSkew);
        Assert.Equal(new IngestionOptions().MaxFutureSkew, IngestionOptions.DefaultMaxFutureSkew);
    }

    [Fact]
    public void An_event_just_inside_the_default_skew_is_accepted_and_one_just_outside_is_refused_as_invalid_field()
    {
        Assert.True(RatedAt(SampleEvents.Now.AddMinutes(5)).IsValid);

        var outside = RatedAt(SampleEvents.Now.AddMinutes(5).AddTicks(10)); // one microsecond later
        Assert.False(outside.IsValid);
        Assert.Equal(Refusal.Codes.InvalidField, outside.Refusal!.Code);
        Assert.Contains("'occurredAt'", outside.Refusal.Reason, StringComparison.Ordinal);
        Assert.Contains("future", outside.Refusal.Reason, StringComparison.Ordinal);
        Assert.Contains("at most 300 s", outside.Refusal.Reason, StringComparison.Ordinal);

        // An hour ahead was accepted while the limit was a day; it is refused now.
        Assert.Equal(Refusal.Codes.InvalidField, RatedAt(SampleEvents.Now.AddHours(1)).Refusal?.Code);
        Assert.True(RatedAt(SampleEvents.Now.AddDays(-30)).IsValid);
    }

    [Fact]
    public void The_accepted_skew_is_the_setting()
    {
        var skew = TimeSpan.FromSeconds(30);
        Assert.True(RatedAt(SampleEvents.Now.AddSeconds(30), skew).IsValid);
        var refused = RatedAt(SampleEvents.Now.AddSeconds(31), skew);
        Assert.Equal(Refusal.Codes.InvalidField, refused.Refusal?.Code);
        Assert.Contains("at most 30 s", refused.Refusal!.Reason, StringComparison.Ordinal);

        Assert.True(RatedAt(SampleEvents.Now.AddHours(2), TimeSpan.FromHours(2)).IsValid);
        Assert.False(RatedAt(SampleEvents.Now.AddHours(2).AddSeconds(1), TimeSpan.FromHours(2)).IsValid);
    }

    [Fact]
    public void Counters_in_an_hour_ahead_of_the_clock_do_not_move_the_baseline_window()
    {
        var detectorOptions = new RegressionDetectorOptions
        {
            Shift = 0.05,
            MinimumBaselineRatings = 300,
            MinimumWindowRatings = 60,
            MaximumDispersion = 1,
        };
        var start = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
        var currentHour = start + detectorOptions.BaselineWindow;
        var own = new CellKey("cirrus", "7", "voice");
        var counts = new Dictionary<(DateTimeOffset Hour, CellKey Cell), (long Rated, long Down)>
        {
            // 10% down, in the first hour of the window that ends at the current hour.
            [(start, own)] = (1000, 100),
            [(currentHour, own)] = (0, 0),
            // Another producer's clock runs ahead: its ratings fall in the next hour, which has not begun.
            [(currentHour.AddHours(1), new CellKey("nimbus", "1", "chat"))] = (10, 1),
        };
        List<HourlyCellCount> Snapshot() => counts.Select(c => new HourlyCellCount(c.Key.Hour, c.Key.Cell, c.Value.Rated, c.Value.Down)).ToList();

        var detector = new RegressionDetector(detectorOptions);
        var now = currentHour.AddMinutes(10);
        detector.Look(now, Snapshot());
        AlertTransition? raised = null;
        for (var look = 1; look <= 200 && raised is null; look++)
        {
            var (rated, down) = counts[(currentHour, own)];
            counts[(currentHour, own)] = (rated + 20, down + 6); // 30% down
            raised = detector.Look(now.AddSeconds(look), Snapshot()).SingleOrDefault();
        }

        // Anchored at the next hour, the window would begin an hour later and leave the cell without a baseline.
        Assert.NotNull(raised);
        Assert.Equal(own, raised.Cell);
        Assert.Equal(BaselineKinds.TrailingWindow, raised.Evidence.BaselineKind);
        Assert.Equal(1000, raised.Evidence.BaselineRated);
    }
}
