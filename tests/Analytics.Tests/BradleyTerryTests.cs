using Analytics.Comparisons;

namespace Analytics.Tests;

public class BradleyTerryTests
{
    [Fact]
    public void Two_models_three_wins_to_one_differ_by_400_log10_3_points()
    {
        var ratings = BradleyTerry.Fit([new PairOutcome("a", "b", 3, 1, 0, 0)], priorGames: 0);
        Assert.Equal(400 * Math.Log10(3), ratings["a"] - ratings["b"], 6);
        Assert.Equal(1000, (ratings["a"] + ratings["b"]) / 2, 6); // geometric mean of strengths anchored at 1000
    }

    [Fact]
    public void Ties_count_as_half_a_win_for_each_side()
    {
        // 2 wins, 0 losses, 2 ties ≡ 3 : 1
        var ratings = BradleyTerry.Fit([new PairOutcome("a", "b", 2, 0, 1, 1)], priorGames: 0);
        Assert.Equal(400 * Math.Log10(3), ratings["a"] - ratings["b"], 6);
    }

    [Fact]
    public void Data_generated_from_known_strengths_gives_those_strengths_back()
    {
        // Strengths 1 : 2 : 4 and 1000 comparisons per pair with the expected win counts.
        var strengths = new Dictionary<string, double> { ["a"] = 1, ["b"] = 2, ["c"] = 4 };
        var pairs = new List<PairOutcome>();
        foreach (var (x, y) in new[] { ("a", "b"), ("a", "c"), ("b", "c") })
        {
            var xWins = (long)Math.Round(1000 * strengths[x] / (strengths[x] + strengths[y]));
            pairs.Add(new PairOutcome(x, y, xWins, 1000 - xWins, 0, 0));
        }

        var ratings = BradleyTerry.Fit(pairs, priorGames: 0);
        // Win counts are rounded to whole comparisons, so allow half an Elo point.
        Assert.InRange(ratings["b"] - ratings["a"], 400 * Math.Log10(2) - 0.5, 400 * Math.Log10(2) + 0.5);
        Assert.InRange(ratings["c"] - ratings["b"], 400 * Math.Log10(2) - 0.5, 400 * Math.Log10(2) + 0.5);
    }

    [Fact]
    public void The_leaderboard_ranks_as_chatbot_arena_does_and_its_intervals_contain_the_estimate()
    {
        // c clearly beats a and b; a and b are even: a and b share rank 2, c is 1.
        var pairs = new List<PairOutcome>
        {
            new("a", "b", 250, 250, 0, 0),
            new("a", "c", 100, 400, 0, 0),
            new("b", "c", 100, 400, 0, 0),
        };
        var board = BradleyTerry.Leaderboard(pairs, rounds: 100).Models;
        var byModel = board.ToDictionary(r => r.Model);
        Assert.Equal(1, byModel["c"].Rank);
        Assert.Equal(2, byModel["a"].Rank);
        Assert.Equal(2, byModel["b"].Rank);
        Assert.All(board, r => Assert.InRange(r.Rating, r.Lower, r.Upper));
        Assert.Equal(1000, byModel["c"].Comparisons);
    }

    public static TheoryData<int> Sizes => new() { 1, 4, 40, 400 };

    /// <summary>
    /// Four models with ties and both-bad, <paramref name="scale"/> times a base of 10–30 comparisons per pair (60 comparisons
    /// in all at scale 1, 24,000 at 400): the Poisson bootstrap on pair counts gives the intervals of redrawing every
    /// comparison with replacement (Arena's bootstrap). 2,000 rounds each, so the 2.5 and 97.5 percentiles are steady; the
    /// widths and bounds of the intervals to the anchor and to the leader agree to within 15% of the exact width.
    /// </summary>
    [Theory]
    [MemberData(nameof(Sizes))]
    public void The_Poisson_bootstrap_gives_the_intervals_of_redrawing_every_comparison_at_every_size(int scale)
    {
        var pairs = new List<PairOutcome>
        {
            new("a", "b", 6L * scale, 4L * scale, 2L * scale, 0),
            new("a", "c", 4L * scale, 5L * scale, 1L * scale, 1L * scale),
            new("a", "d", 9L * scale, 3L * scale, 1L * scale, 0),
            new("b", "c", 4L * scale, 5L * scale, 1L * scale, 0),
            new("b", "d", 7L * scale, 4L * scale, 1L * scale, 1L * scale),
            new("c", "d", 6L * scale, 3L * scale, 1L * scale, 0),
        };

        var exact = BradleyTerry.Leaderboard(pairs, rounds: 2_000, seed: 3, method: BootstrapMethod.RedrawComparisons);
        var poisson = BradleyTerry.Leaderboard(pairs, rounds: 2_000, seed: 4);
        Assert.Equal(exact.Anchor, poisson.Anchor);
        Assert.Equal(exact.Leader, poisson.Leader);
        var byModel = poisson.Models.ToDictionary(r => r.Model);
        foreach (var e in exact.Models)
        {
            var p = byModel[e.Model];
            Assert.Equal(e.Rating, p.Rating, 9); // the point estimate does not depend on the bootstrap
            if (e.Model != exact.Anchor)
            {
                AssertSameInterval(e.Model, "to the anchor", (e.Lower, e.Upper), (p.Lower, p.Upper));
            }

            if (e.Model != exact.Leader)
            {
                AssertSameInterval(e.Model, "to the leader", (e.ToLeader.Lower, e.ToLeader.Upper), (p.ToLeader.Lower, p.ToLeader.Upper));
            }
        }
    }

    private static void AssertSameInterval(string model, string what, (double Lower, double Upper) exact, (double Lower, double Upper) poisson)
    {
        var width = exact.Upper - exact.Lower;
        Assert.True(width > 1, $"{model} {what}: exact interval only {width:F2} points wide");
        var message = $"{model} {what}: exact [{exact.Lower:F1}, {exact.Upper:F1}], Poisson [{poisson.Lower:F1}, {poisson.Upper:F1}]";
        Assert.True(Math.Abs(poisson.Upper - poisson.Lower - width) <= 0.15 * width, message);
        Assert.True(Math.Abs(poisson.Lower - exact.Lower) <= 0.15 * width, message);
        Assert.True(Math.Abs(poisson.Upper - exact.Upper) <= 0.15 * width, message);
    }

    [Fact]
    public void The_anchor_is_rated_1000_and_differences_to_the_leader_and_ranks_do_not_depend_on_it()
    {
        // b has by far the most comparisons (the default anchor); e has few, which must not widen the others' intervals.
        var pairs = new List<PairOutcome>
        {
            new("a", "b", 300, 200, 50, 10),
            new("b", "c", 350, 150, 40, 0),
            new("a", "c", 100, 60, 10, 5),
            new("b", "d", 250, 260, 30, 5),
            new("a", "e", 3, 1, 0, 0),
        };
        var byDefault = BradleyTerry.Leaderboard(pairs, rounds: 500, seed: 7);
        Assert.Equal("b", byDefault.Anchor);
        Assert.Equal("b", BradleyTerry.DefaultAnchor(pairs));
        var anchor = byDefault.Models.Single(r => r.Model == "b");
        Assert.Equal((1000.0, 1000.0, 1000.0), (anchor.Rating, anchor.Lower, anchor.Upper));

        var onE = BradleyTerry.Leaderboard(pairs, rounds: 500, seed: 7, anchor: "e");
        Assert.Equal("e", onE.Anchor);
        Assert.Equal(1000, onE.Models.Single(r => r.Model == "e").Rating, 9);
        Assert.Equal(byDefault.Leader, onE.Leader);
        foreach (var model in byDefault.Models)
        {
            var other = onE.Models.Single(r => r.Model == model.Model);
            // The same draws (same seed): differences between models are the same numbers whatever the anchor.
            Assert.Equal(model.Rating - anchor.Rating, other.Rating - onE.Models.Single(r => r.Model == "b").Rating, 6);
            Assert.Equal(model.ToLeader.Difference, other.ToLeader.Difference, 6);
            Assert.Equal(model.ToLeader.Lower, other.ToLeader.Lower, 6);
            Assert.Equal(model.ToLeader.Upper, other.ToLeader.Upper, 6);
            Assert.Equal(model.Rank, other.Rank);
        }

        // Anchored on the few-comparison model, everyone else's interval (their difference to e) is wide; on b it is not.
        var cOnB = byDefault.Models.Single(r => r.Model == "c");
        var cOnE = onE.Models.Single(r => r.Model == "c");
        Assert.True(cOnE.Upper - cOnE.Lower > 3 * (cOnB.Upper - cOnB.Lower), $"c on b: [{cOnB.Lower:F0}, {cOnB.Upper:F0}]; on e: [{cOnE.Lower:F0}, {cOnE.Upper:F0}]");
        var leader = byDefault.Models.Single(r => r.Model == byDefault.Leader);
        Assert.Equal(new RatingDifference(0, 0, 0), leader.ToLeader);
        Assert.All(byDefault.Models.Where(r => r.Model != byDefault.Leader), r => Assert.InRange(r.ToLeader.Difference, r.ToLeader.Lower, r.ToLeader.Upper));
        Assert.Throws<ArgumentException>(() => BradleyTerry.Leaderboard(pairs, anchor: "z"));
    }

    [Fact]
    public void A_model_that_won_everything_still_gets_a_finite_rating()
    {
        var ratings = BradleyTerry.Fit([new PairOutcome("a", "b", 10, 0, 0, 0)]);
        Assert.True(double.IsFinite(ratings["a"]) && ratings["a"] > ratings["b"]);
    }

    [Fact]
    public void The_fit_solves_the_likelihood_equations_expected_wins_equal_observed_wins()
    {
        // Eight models, uneven counts, a missing pair, ties and both-bad: at the maximum (no prior) each model's expected
        // wins Σ games · σ(θi − θj) equal its observed (half) wins: checked from the ratings alone.
        var pairs = new List<PairOutcome>
        {
            new("a", "b", 530, 470, 20, 5), new("a", "c", 90, 110, 3, 0), new("b", "c", 1200, 1100, 40, 9),
            new("c", "d", 14, 3, 0, 1), new("d", "e", 700, 690, 10, 0), new("e", "f", 33, 31, 2, 2),
            new("f", "g", 5000, 5100, 100, 30), new("g", "h", 2, 1, 0, 0), new("a", "h", 8, 12, 1, 0), new("b", "f", 300, 280, 0, 0),
        };
        var ratings = BradleyTerry.Fit(pairs, priorGames: 0);
        var natural = ratings.ToDictionary(r => r.Key, r => (r.Value - BradleyTerry.Anchor) * Math.Log(10) / BradleyTerry.Scale);
        foreach (var model in ratings.Keys)
        {
            double observed = 0, expected = 0;
            foreach (var p in pairs.Where(p => p.ModelA == model || p.ModelB == model))
            {
                var (mine, other, myWins) = p.ModelA == model ? (p.ModelA, p.ModelB, p.AWins) : (p.ModelB, p.ModelA, p.BWins);
                observed += myWins + (p.Ties + p.BothBad) / 2.0;
                expected += p.Total / (1 + Math.Exp(natural[other] - natural[mine]));
            }

            Assert.Equal(observed, expected, 6);
        }
    }

    [Fact]
    public void Close_models_with_many_comparisons_are_fitted_exactly()
    {
        // Twelve models 2% apart in strength, 200,000 comparisons per neighbouring pair: the case where a first-order
        // iteration crawls. Expected win counts from the known strengths, so the fit must give the strengths back.
        var pairs = new List<PairOutcome>();
        for (var i = 0; i < 11; i++)
        {
            var (x, y) = (Math.Pow(1.02, i), Math.Pow(1.02, i + 1));
            var xWins = 200_000 * x / (x + y);
            pairs.Add(new PairOutcome($"m{i:D2}", $"m{i + 1:D2}", (long)Math.Round(xWins * 1e3), (long)Math.Round((200_000 - xWins) * 1e3), 0, 0));
        }

        var ratings = BradleyTerry.Fit(pairs, priorGames: 0);
        for (var i = 0; i < 11; i++)
        {
            Assert.Equal(400 * Math.Log10(1.02), ratings[$"m{i + 1:D2}"] - ratings[$"m{i:D2}"], 3);
        }
    }

    [Fact]
    public void Without_a_prior_a_graph_in_two_parts_has_no_rating_and_says_so()
    {
        var pairs = new List<PairOutcome> { new("a", "b", 3, 2, 0, 0), new("c", "d", 4, 1, 0, 0) };
        Assert.Throws<InvalidOperationException>(() => BradleyTerry.Fit(pairs, priorGames: 0));
        Assert.Equal(4, BradleyTerry.Fit(pairs).Count); // the default prior ties the parts to the reference
    }
}
