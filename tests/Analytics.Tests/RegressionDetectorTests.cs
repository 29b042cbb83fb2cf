using Analytics.Alerting;

namespace Analytics.Tests;

public class RegressionDetectorTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly CellKey Previous = new("atlas", "1", "chat");
    private static readonly CellKey Current = new("atlas", "2", "chat");

    private static readonly RegressionDetectorOptions Options = new()
    {
        Shift = 0.05,
        Threshold = 10,
        RecoveryThreshold = 4,
        BaselineMargin = 1.5,
        MinimumBaselineRatings = 300,
        MinimumWindowRatings = 60,
        MaximumDispersion = 1, // independent ratings (the dispersion tests below say otherwise)
    };

    /// <summary>
    /// Cumulative hourly counters, as the projection keeps them: version 1 has 2,000 ratings at 20% thumbs down in
    /// the first hour; version 2 appears in the second hour, and each look adds ratings to it.
    /// </summary>
    private sealed class Traffic
    {
        private readonly Dictionary<(DateTimeOffset Hour, CellKey Cell), (long Rated, long Down)> _counts = [];
        private int _minute;

        public Traffic(long previousRated = 2000, long previousDown = 400)
        {
            _counts[(Start, Previous)] = (previousRated, previousDown);
            _counts[(Start.AddHours(1), Current)] = (0, 0);
        }

        public DateTimeOffset Now => Start.AddHours(1).AddMinutes(_minute);

        public List<HourlyCellCount> Add(CellKey cell, long rated, long down)
        {
            _minute++;
            var hour = Start.AddHours(1 + (_minute / 60));
            var before = _counts.GetValueOrDefault((hour, cell));
            _counts[(hour, cell)] = (before.Rated + rated, before.Down + down);
            return Snapshot();
        }

        public List<HourlyCellCount> Snapshot() => _counts.Select(c => new HourlyCellCount(c.Key.Hour, c.Key.Cell, c.Value.Rated, c.Value.Down)).ToList();
    }

    /// <summary>Feeds <paramref name="looks"/> looks of 20 ratings with <paramref name="downPerLook"/> thumbs down; returns the transitions with their look number.</summary>
    private static List<(int Look, AlertTransition Transition)> Feed(RegressionDetector detector, Traffic traffic, int looks, int downPerLook, int firstLook = 0)
    {
        var transitions = new List<(int, AlertTransition)>();
        for (var look = 0; look < looks; look++)
        {
            transitions.AddRange(detector.Look(traffic.Now, traffic.Add(Current, 20, downPerLook)).Select(t => (firstLook + look, t)));
        }

        return transitions;
    }

    private static RegressionDetector Started(Traffic traffic)
    {
        var detector = new RegressionDetector(Options);
        Assert.Empty(detector.Look(traffic.Now, traffic.Snapshot()));
        return detector;
    }

    [Fact]
    public void A_stable_cell_at_its_baseline_rate_never_alerts()
    {
        var traffic = new Traffic();
        var detector = Started(traffic);

        // 2,000 looks × 20 ratings = 40,000 ratings at exactly the baseline's 20%.
        Assert.Empty(Feed(detector, traffic, 2000, downPerLook: 4));
    }

    [Fact]
    public void A_rise_from_20_to_30_percent_alerts_within_the_bound_and_not_before_the_evidence_is_there()
    {
        var traffic = new Traffic();
        var detector = Started(traffic);

        var transitions = Feed(detector, traffic, 200, downPerLook: 6);

        // p0 = 0.2 + 1.5 × SE(2,000 ratings) ≈ 0.2134, p1 = p0 + 0.05: each look of 6/20 adds
        // 6 ln(p1/p0) + 14 ln((1-p1)/(1-p0)) ≈ 0.343, so h = 10 is crossed on look 30 (the 0-based index 29).
        var (look, transition) = Assert.Single(transitions);
        var raised = Assert.IsType<AlertRaised>(transition);
        Assert.Equal(29, look);
        Assert.Equal(Current, raised.Cell);
        Assert.Equal(BaselineKinds.PreviousVersion, raised.Evidence.BaselineKind);
        Assert.Equal("1", raised.Evidence.BaselineVersion);
        Assert.Equal(2000, raised.Evidence.BaselineRated);
        Assert.Equal(0.2, raised.Evidence.BaselineDownRate, 6);
        Assert.Equal(600, raised.Evidence.WindowRated);
        Assert.Equal(0.3, raised.Evidence.WindowDownRate, 6);
        Assert.True(raised.Evidence.WindowLower > 0.26 && raised.Evidence.WindowUpper < 0.34);
        Assert.True(raised.Evidence.PValue < 0.001);
        Assert.True(raised.Evidence.Statistic >= 10);
        Assert.Equal(raised.AlertId, detector.ActiveAlerts[Current]);
    }

    [Fact]
    public void A_cell_that_keeps_being_bad_alerts_once_and_resolves_when_it_recovers()
    {
        var traffic = new Traffic();
        var detector = Started(traffic);

        var bad = Feed(detector, traffic, 300, downPerLook: 6);
        var recovered = Feed(detector, traffic, 300, downPerLook: 4, firstLook: 300);

        var raised = Assert.IsType<AlertRaised>(Assert.Single(bad).Transition);
        var (look, transition) = Assert.Single(recovered);
        var cleared = Assert.IsType<AlertCleared>(transition);
        Assert.Equal(raised.AlertId, cleared.AlertId);
        Assert.True(look < 400, $"resolved only at look {look}");
        Assert.Equal(0.2, cleared.Evidence.WindowDownRate, 6);
        Assert.Empty(detector.ActiveAlerts);
    }

    [Fact]
    public void A_short_blip_does_not_alert()
    {
        var traffic = new Traffic();
        var detector = Started(traffic);

        var transitions = Feed(detector, traffic, 50, downPerLook: 4);
        transitions.AddRange(Feed(detector, traffic, 2, downPerLook: 12, firstLook: 50)); // 24 of 40 down, for two minutes
        transitions.AddRange(Feed(detector, traffic, 200, downPerLook: 4, firstLook: 52));

        Assert.Empty(transitions);
    }

    [Fact]
    public void A_cell_with_too_few_ratings_never_alerts()
    {
        // The previous version has only 200 ratings (minimum 300) and the cell has no history of its own before the gap.
        var traffic = new Traffic(previousRated: 200, previousDown: 40);
        var detector = Started(traffic);

        // Every rating is a thumbs down: still no alert, because there is nothing trustworthy to compare with.
        Assert.Empty(Feed(detector, traffic, 100, downPerLook: 20));
    }

    [Fact]
    public void The_window_must_hold_the_minimum_sample_however_strong_the_statistic()
    {
        var traffic = new Traffic();
        var detector = new RegressionDetector(Options with { MinimumWindowRatings = 1000 });
        detector.Look(traffic.Now, traffic.Snapshot());

        var transitions = Feed(detector, traffic, 60, downPerLook: 20);

        // 20 down of 20 per look crosses h on the second look, but the alert waits for 1,000 ratings (look 50).
        Assert.Equal(49, Assert.Single(transitions).Look);
    }

    [Fact]
    public void The_first_look_learns_the_counters_and_unchanged_counters_add_no_evidence()
    {
        var traffic = new Traffic();
        traffic.Add(Current, 5000, 5000); // a bad history before the detector started: not news
        var detector = new RegressionDetector(Options);

        Assert.Empty(detector.Look(traffic.Now, traffic.Snapshot()));
        for (var i = 0; i < 100; i++)
        {
            Assert.Empty(detector.Look(traffic.Now, traffic.Snapshot()));
        }

        Assert.All(detector.Statistics, s => Assert.Equal(0, s.Statistic));
    }

    [Fact]
    public void Without_a_previous_version_the_cell_is_compared_with_its_own_trailing_window()
    {
        var own = new CellKey("cirrus", "7", "voice");
        var counts = new Dictionary<(DateTimeOffset, CellKey), (long Rated, long Down)>
        {
            [(Start, own)] = (1000, 100), // 10% down, 5 hours before the latest hour: outside the 3-hour gap
            [(Start.AddHours(5), own)] = (0, 0),
        };
        List<HourlyCellCount> Snapshot() => counts.Select(c => new HourlyCellCount(c.Key.Item1, c.Key.Item2, c.Value.Rated, c.Value.Down)).ToList();
        var detector = new RegressionDetector(Options);
        detector.Look(Start.AddHours(5), Snapshot());

        AlertTransition? raised = null;
        for (var look = 0; look < 200 && raised is null; look++)
        {
            var (rated, down) = counts[(Start.AddHours(5), own)];
            counts[(Start.AddHours(5), own)] = (rated + 20, down + 6); // 30% down
            raised = detector.Look(Start.AddHours(5).AddMinutes(look), Snapshot()).SingleOrDefault();
        }

        Assert.NotNull(raised);
        Assert.Equal(BaselineKinds.TrailingWindow, raised.Evidence.BaselineKind);
        Assert.Equal(1000, raised.Evidence.BaselineRated);
        Assert.Equal(0.1, raised.Evidence.BaselineDownRate, 6);
    }

    [Fact]
    public void Hours_that_vary_more_than_binomial_noise_scale_the_evidence_down()
    {
        // The previous version's hours alternate between 10% and 30% down (500 ratings each): far more spread than
        // binomial noise around 20%, as when the ratings of one conversation are alike.
        var history = new Dictionary<(DateTimeOffset, CellKey), (long Rated, long Down)>();
        for (var hour = 0; hour < 12; hour++)
        {
            history[(Start.AddHours(hour), Previous)] = (500, hour % 2 == 0 ? 50 : 150);
        }

        (int Look, AlertTransition Alert) FirstAlert(double maximumDispersion)
        {
            var counts = new Dictionary<(DateTimeOffset, CellKey), (long Rated, long Down)>(history) { [(Start.AddHours(12), Current)] = (0, 0) };
            List<HourlyCellCount> Snapshot() => counts.Select(c => new HourlyCellCount(c.Key.Item1, c.Key.Item2, c.Value.Rated, c.Value.Down)).ToList();
            var detector = new RegressionDetector(Options with { MaximumDispersion = maximumDispersion });
            detector.Look(Start.AddHours(12), Snapshot());
            for (var look = 0; look < 2000; look++)
            {
                var (rated, down) = counts[(Start.AddHours(12), Current)];
                counts[(Start.AddHours(12), Current)] = (rated + 20, down + 6);
                if (detector.Look(Start.AddHours(12).AddMinutes(look), Snapshot()) is [var alert])
                {
                    return (look, alert);
                }
            }

            throw new Xunit.Sdk.XunitException("no alert");
        }

        var independent = FirstAlert(maximumDispersion: 1);
        var overdispersed = FirstAlert(maximumDispersion: 4);

        Assert.Equal(1, independent.Alert.Evidence.Dispersion);
        Assert.Equal(4, overdispersed.Alert.Evidence.Dispersion); // χ²/df ≈ 34, capped at the maximum
        Assert.True(overdispersed.Look > 3 * independent.Look, $"{overdispersed.Look} vs {independent.Look}");
    }

    [Fact]
    public void A_flipped_rating_counts_as_a_thumbs_down_replacing_a_thumbs_up()
    {
        // By hand: ln(0.3 / 0.2) − ln(0.7 / 0.8) = 0.405465108 + 0.133531393 = 0.538996501.
        Assert.Equal(0.538996501, RegressionDetector.LogLikelihoodRatio(0, 1, 0.2, 0.3), 9);
        Assert.Equal(0, RegressionDetector.LogLikelihoodRatio(0, 0, 0.2, 0.3));
        Assert.True(RegressionDetector.LogLikelihoodRatio(20, 4, 0.2, 0.25) < 0, "data at p0 is evidence against p1");
    }

    [Theory]
    [InlineData("2026-10", "2026-11", -1)]
    [InlineData("1.4", "1.5", -1)]
    [InlineData("7", "8", -1)]
    [InlineData("10", "9", 1)]
    [InlineData("1.10", "1.9", 1)]
    [InlineData("v2", "v2", 0)]
    public void Versions_compare_as_numbers_when_they_are_numbers(string a, string b, int sign) =>
        Assert.Equal(sign, Math.Sign(RegressionDetector.CompareVersions(a, b)));
}
