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
    public void A_model_that_won_everything_still_gets_a_finite_rating()
    {
        var ratings = BradleyTerry.Fit([new PairOutcome("a", "b", 10, 0, 0, 0)]);
        Assert.True(double.IsFinite(ratings["a"]) && ratings["a"] > ratings["b"]);
    }
}
