using Analytics.Contracts;
using Analytics.Ingesting;
using Analytics.Simulator;

namespace Analytics.Tests;

public class TrafficModelTests
{
    [Fact]
    public void Versions_can_share_their_rates_so_that_no_version_differs_unless_a_regression_is_injected()
    {
        var shared = new TrafficModel(new TrafficOptions { Seed = 3, VersionsShareRates = true });
        var own = new TrafficModel(new TrafficOptions { Seed = 3 });
        foreach (var capability in TrafficModel.Capabilities)
        {
            Assert.Equal(shared.BaselineUpRate("cirrus", "7", capability), shared.BaselineUpRate("cirrus", "8", capability));
            Assert.Equal(own.BaselineUpRate("cirrus", "7", capability), shared.BaselineUpRate("cirrus", "7", capability));
        }

        Assert.Contains(TrafficModel.Capabilities, c => own.BaselineUpRate("cirrus", "7", c) != own.BaselineUpRate("cirrus", "8", c));
    }

    [Fact]
    public void The_same_seed_gives_the_same_traffic_and_another_seed_does_not()
    {
        string Render(int seed) => string.Join('\n', new TrafficModel(new TrafficOptions { Seed = seed }).Generate().Take(500)
            .Select(e => FeedbackJson.ToElement(e).GetRawText()));

        Assert.Equal(Render(7), Render(7));
        Assert.NotEqual(Render(7), Render(8));
    }

    [Fact]
    public void Every_simulated_event_passes_the_platforms_validation()
    {
        foreach (var e in new TrafficModel(new TrafficOptions { Seed = 3 }).Generate().Take(5000))
        {
            var raw = FeedbackJson.ToElement(e);
            var occurredAt = raw.GetProperty("occurredAt").GetDateTimeOffset();
            var result = FeedbackEventValidator.Validate(raw, occurredAt);
            Assert.True(result.IsValid, $"{raw.GetRawText()}: {result.Refusal}");
        }
    }

    [Fact]
    public void The_traffic_has_every_kind_of_event_ratings_changes_regenerations_and_comments_with_pii()
    {
        var events = new TrafficModel(new TrafficOptions { Seed = 11 }).Generate().Take(20_000).ToList();
        Assert.Contains(events, e => e is ConversationStarted);
        Assert.Contains(events, e => e is ResponsesCompared);
        Assert.Contains(events, e => e is ResponseGenerated { RegeneratedFrom: not null });
        Assert.Contains(events, e => e is ResponseRated { Rating: Rating.None });
        Assert.Contains(events, e => e is ResponseRated { Comment: { } c } && c.Contains('@'));
        var ratings = events.OfType<ResponseRated>().GroupBy(r => r.TurnId).Where(g => g.Count() > 1);
        Assert.NotEmpty(ratings); // some turns are rated again (flips)
        Assert.True(events.OfType<ResponseGenerated>().Select(r => r.Model.Id).Distinct().Count() >= 3);
    }

    [Fact]
    public void An_injected_regression_lowers_the_up_rate_of_that_cell_only()
    {
        static double UpRate(IEnumerable<object> events, string model, string capability) =>
            events.OfType<ResponseRated>().Where(r => r.Model.Id == model && r.Capabilities.Contains(capability) && r.Rating != Rating.None)
                .Average(r => r.Rating == Rating.Up ? 1.0 : 0.0);

        var baseline = new TrafficModel(new TrafficOptions { Seed = 5 }).Generate().Take(120_000).ToList();
        var injected = new TrafficModel(new TrafficOptions { Seed = 5, InjectRegression = RegressionInjection.Parse("atlas:code_execution:0:0.25") })
            .Generate().Take(120_000).ToList();

        Assert.True(UpRate(baseline, "atlas", "code_execution") - UpRate(injected, "atlas", "code_execution") > 0.12);
        Assert.True(Math.Abs(UpRate(baseline, "borealis", "browsing") - UpRate(injected, "borealis", "browsing")) < 0.06);
    }
}
