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
        var board = BradleyTerry.Leaderboard(pairs, rounds: 100);
        var byModel = board.ToDictionary(r => r.Model);
        Assert.Equal(1, byModel["c"].Rank);
        Assert.Equal(2, byModel["a"].Rank);
        Assert.Equal(2, byModel["b"].Rank);
        Assert.All(board, r => Assert.InRange(r.Rating, r.Lower, r.Upper));
        Assert.Equal(1000, byModel["c"].Comparisons);
    }

    [Fact]
    public void Above_the_exact_limit_the_Poisson_bootstrap_gives_the_intervals_of_redrawing_every_comparison()
    {
        // 30,000 comparisons (above ExactResamplingLimit) among four models with ties and both-bad: the same leaderboard
        // with every comparison redrawn (the limit raised) and with Poisson-drawn counts. 1,000 rounds, so the 2.5 and 97.5
        // percentiles themselves are steady; their widths and bounds must agree to within a tenth of a width.
        var pairs = new List<PairOutcome>
        {
            new("a", "b", 2_400, 2_000, 500, 100),
            new("a", "c", 2_000, 2_300, 500, 200),
            new("a", "d", 3_000, 1_500, 400, 100),
            new("b", "c", 2_200, 2_200, 400, 200),
            new("b", "d", 2_800, 1_700, 400, 100),
            new("c", "d", 2_600, 1_800, 500, 100),
        };
        Assert.True(pairs.Sum(p => p.Total) > BradleyTerry.ExactResamplingLimit);

        var exact = BradleyTerry.Leaderboard(pairs, rounds: 1_000, seed: 3, exactResamplingLimit: long.MaxValue).ToDictionary(r => r.Model);
        var poisson = BradleyTerry.Leaderboard(pairs, rounds: 1_000, seed: 4).ToDictionary(r => r.Model);
        foreach (var (model, e) in exact)
        {
            var p = poisson[model];
            var width = e.Upper - e.Lower;
            Assert.True(width > 5, $"{model}: exact interval only {width:F2} points wide");
            Assert.Equal(e.Rating, p.Rating, 9); // the point estimate does not depend on the bootstrap
            Assert.InRange(p.Upper - p.Lower, 0.9 * width, 1.1 * width);
            Assert.InRange(p.Lower, e.Lower - 0.1 * width, e.Lower + 0.1 * width);
            Assert.InRange(p.Upper, e.Upper - 0.1 * width, e.Upper + 0.1 * width);
            Assert.Equal(e.Rank, p.Rank);
        }
    }

    [Fact]
    public void A_model_that_won_everything_still_gets_a_finite_rating()
    {
        var ratings = BradleyTerry.Fit([new PairOutcome("a", "b", 10, 0, 0, 0)]);
        Assert.True(double.IsFinite(ratings["a"]) && ratings["a"] > ratings["b"]);
    }
}
