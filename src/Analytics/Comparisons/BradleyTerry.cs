using MathNet.Numerics.Distributions;
using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.Statistics;

namespace Analytics.Comparisons;

/// <summary>Outcome counts of one pair of models (A vs B) from side-by-side comparisons.</summary>
public sealed record PairOutcome(string ModelA, string ModelB, long AWins, long BWins, long Ties, long BothBad)
{
    public long Total => AWins + BWins + Ties + BothBad;
}

/// <summary>An interval of a rating difference (this model minus another), with its point estimate.</summary>
public sealed record RatingDifference(double Difference, double Lower, double Upper);

/// <summary>
/// A model's Bradley–Terry rating on the anchored scale with its bootstrap 95% interval, its rank, its comparisons, and
/// its difference to the leader with that difference's own interval (which does not depend on the anchor).
/// </summary>
public sealed record RatedModel(string Model, double Rating, double Lower, double Upper, int Rank, long Comparisons, RatingDifference ToLeader);

/// <summary>A leaderboard: the anchor model (rated <see cref="BradleyTerry.Anchor"/> exactly), the leader, the models.</summary>
public sealed record RatedBoard(string? Anchor, string? Leader, IReadOnlyList<RatedModel> Models)
{
    public static readonly RatedBoard Empty = new(null, null, []);
}

/// <summary>How a bootstrap round draws the comparisons again.</summary>
public enum BootstrapMethod
{
    /// <summary>Each outcome count of each pair drawn from Poisson(count): constant time per pair, whatever the size.</summary>
    Poisson,

    /// <summary>
    /// Every comparison redrawn with replacement from all of them, as Chatbot Arena does: cost grows with the number of
    /// comparisons. The reference the Poisson bootstrap is tested against.
    /// </summary>
    RedrawComparisons,
}

/// <summary>
/// Bradley–Terry ratings from pairwise comparisons, as Chatbot Arena reports them: ties and "both bad"
/// count as half a win for each side; ratings are on the Elo scale (400 points = 10× the odds) with one anchor model
/// held at <see cref="Anchor"/> (1000) in the estimate and in every bootstrap round, so a model's interval is the
/// interval of its difference to the anchor (the anchor's own is a point). The differences to the leader, with their
/// intervals, and the ranks do not depend on the anchor: rank = 1 + the number of models better than this one with 95%
/// confidence (the 2.5th percentile of their bootstrap difference to it is above zero).
/// The bootstrap (95% intervals = percentiles 2.5 and 97.5 of the rounds) is the Poisson bootstrap at every size: each
/// comparison gets a Poisson(1) weight, so a round draws each pair-outcome count from Poisson(count) (Hanley &amp;
/// MacGibbon 2006); it costs the same whatever the number of comparisons and gives the intervals of redrawing every
/// comparison with replacement (unit tests hold the two together from tens of comparisons to tens of thousands).
/// The fit is Newton's method on the log strengths (see <see cref="LogStrengths"/>), which converges to the
/// maximum-likelihood strengths whenever the comparison graph is connected (or the prior is on); a bootstrap round starts
/// from the point estimate and takes a few steps.
/// </summary>
public static class BradleyTerry
{
    public const double Scale = 400;
    public const double Anchor = 1000;

    /// <summary>Maximum-likelihood ratings (Elo scale) for the given pairs, the geometric mean of strengths at <see cref="Anchor"/>.</summary>
    public static IReadOnlyDictionary<string, double> Fit(IReadOnlyList<PairOutcome> pairs, double priorGames = 0.01, int maxIterations = 100, double tolerance = 1e-9)
    {
        var models = pairs.SelectMany(p => new[] { p.ModelA, p.ModelB }).Distinct().Order(StringComparer.Ordinal).ToArray();
        var index = models.Select((m, i) => (m, i)).ToDictionary(x => x.m, x => x.i);
        var wins = WinMatrix(models.Length, pairs.Select(p => index[p.ModelA]).ToArray(), pairs.Select(p => index[p.ModelB]).ToArray(),
            pairs.Select(p => (p.AWins, p.BWins, p.Ties, p.BothBad)).ToArray());
        var logStrengths = LogStrengths(wins, null, priorGames, maxIterations, tolerance);
        return models.Select((m, i) => (m, i)).ToDictionary(x => x.m, x => Anchor + Scale * logStrengths[x.i] / Math.Log(10));
    }

    /// <summary>
    /// Ratings anchored on <paramref name="anchor"/> (default: <see cref="DefaultAnchor"/>), bootstrap intervals, ranks and
    /// differences to the leader. An anchor that is not among the pairs' models is an error (ArgumentException).
    /// </summary>
    public static RatedBoard Leaderboard(IReadOnlyList<PairOutcome> pairs, int rounds = 200, int seed = 1, string? anchor = null,
        BootstrapMethod method = BootstrapMethod.Poisson)
    {
        if (pairs.Count == 0)
        {
            return RatedBoard.Empty;
        }

        var models = pairs.SelectMany(p => new[] { p.ModelA, p.ModelB }).Distinct().Order(StringComparer.Ordinal).ToArray();
        var index = models.Select((m, i) => (m, i)).ToDictionary(x => x.m, x => x.i);
        anchor ??= DefaultAnchor(pairs);
        if (!index.TryGetValue(anchor, out var anchorIndex))
        {
            throw new ArgumentException($"The anchor '{anchor}' has no comparisons among these pairs.", nameof(anchor));
        }

        var n = models.Length;
        var (left, right) = (pairs.Select(p => index[p.ModelA]).ToArray(), pairs.Select(p => index[p.ModelB]).ToArray());
        var point = LogStrengths(WinMatrix(n, left, right, pairs.Select(p => (p.AWins, p.BWins, p.Ties, p.BothBad)).ToArray()), null);
        var rating = point.Select(x => Anchor + Scale * (x - point[anchorIndex]) / Math.Log(10)).ToArray();

        // Every round's ratings relative to the anchor; differences between models are anchor-free.
        var samples = new double[n][];
        for (var i = 0; i < n; i++)
        {
            samples[i] = new double[rounds];
        }

        var random = new Random(seed);
        var redraw = method == BootstrapMethod.RedrawComparisons ? new ComparisonRedraw(pairs) : null;
        for (var round = 0; round < rounds; round++)
        {
            var counts = redraw?.Draw(random) ?? pairs.Select(p => PoissonDraw(p, random)).ToArray();
            var fit = LogStrengths(WinMatrix(n, left, right, counts), point);
            for (var i = 0; i < n; i++)
            {
                samples[i][round] = Anchor + Scale * (fit[i] - fit[anchorIndex]) / Math.Log(10);
            }
        }

        var leader = Enumerable.Range(0, n).OrderByDescending(i => rating[i]).ThenBy(i => models[i], StringComparer.Ordinal).First();
        var bounds = samples.Select(Percentiles).ToArray();
        var toLeader = Enumerable.Range(0, n)
            .Select(i => Percentiles(Enumerable.Range(0, rounds).Select(r => samples[i][r] - samples[leader][r]).ToArray())).ToArray();
        var better = new int[n];
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < n; j++)
            {
                // j is better than i with 95% confidence when the 2.5th percentile of (j − i) is above zero.
                if (i != j && Percentiles(Enumerable.Range(0, rounds).Select(r => samples[j][r] - samples[i][r]).ToArray()).Lower > 0)
                {
                    better[i]++;
                }
            }
        }

        var comparisons = models.ToDictionary(m => m, m => pairs.Where(p => p.ModelA == m || p.ModelB == m).Sum(p => p.Total));
        var rated = Enumerable.Range(0, n)
            .Select(i => new RatedModel(models[i], rating[i], bounds[i].Lower, bounds[i].Upper, 1 + better[i], comparisons[models[i]],
                i == leader ? new RatingDifference(0, 0, 0) : new RatingDifference(rating[i] - rating[leader], toLeader[i].Lower, toLeader[i].Upper)))
            .OrderBy(r => r.Rank).ThenByDescending(r => r.Rating).ThenBy(r => r.Model, StringComparer.Ordinal)
            .ToList();
        return new RatedBoard(anchor, models[leader], rated);
    }

    /// <summary>The default anchor: the model with the most comparisons in the pairs (the alphabetically first among equals).</summary>
    public static string DefaultAnchor(IReadOnlyList<PairOutcome> pairs) =>
        pairs.SelectMany(p => new[] { (Model: p.ModelA, p.Total), (Model: p.ModelB, p.Total) })
            .GroupBy(x => x.Model)
            .Select(g => (Model: g.Key, Comparisons: g.Sum(x => x.Total)))
            .OrderByDescending(x => x.Comparisons).ThenBy(x => x.Model, StringComparer.Ordinal)
            .First().Model;

    /// <summary>Percentiles 2.5 and 97.5 (sorts a copy: the rounds stay in order for the differences).</summary>
    private static (double Lower, double Upper) Percentiles(double[] rounds)
    {
        var values = (double[])rounds.Clone();
        Array.Sort(values);
        return (SortedArrayStatistics.Quantile(values, 0.025), SortedArrayStatistics.Quantile(values, 0.975));
    }

    /// <summary>wins[i, j]: (half) wins of i over j; ties and both-bad count half for each side.</summary>
    private static double[,] WinMatrix(int n, int[] left, int[] right, (long A, long B, long Ties, long BothBad)[] counts)
    {
        var wins = new double[n, n];
        for (var k = 0; k < counts.Length; k++)
        {
            var half = (counts[k].Ties + counts[k].BothBad) / 2.0;
            wins[left[k], right[k]] += counts[k].A + half;
            wins[right[k], left[k]] += counts[k].B + half;
        }

        return wins;
    }

    /// <summary>
    /// Natural-log strengths (mean 0, i.e. geometric mean of strengths 1) maximising the Bradley–Terry likelihood with a
    /// weak prior: priorGames tied games of each model against a reference of strength 1, which keeps strengths finite when
    /// a model won or lost everything (with real data its pull is negligible). Newton's method on the constrained problem
    /// (Σθ = 0, solved in the n − 1 free coordinates, so each step is exact Newton and converges quadratically), from
    /// <paramref name="start"/> when given, with step halving when a step would lower the likelihood. From the point
    /// estimate a bootstrap round takes two to four steps of O(models³). Stops when the largest change of a log strength
    /// is below <paramref name="tolerance"/>. A graph that is not connected with no prior has no unique maximum: an error.
    /// </summary>
    private static double[] LogStrengths(double[,] wins, double[]? start, double priorGames = 0.01, int maxIterations = 100, double tolerance = 1e-9)
    {
        var n = wins.GetLength(0);
        var theta = start is null ? new double[n] : Centred(start);
        if (n < 2)
        {
            return theta;
        }

        var current = LogLikelihood(wins, theta, priorGames);
        var gradient = new double[n];
        var curvature = new double[n, n];
        for (var iteration = 0; iteration < maxIterations; iteration++)
        {
            Derivatives(wins, theta, priorGames, gradient, curvature);

            // Free coordinates θ_0..θ_{n−2}; θ_{n−1} = −Σ of them. Reduced curvature Zᵀ A Z and gradient Zᵀ g, Z = [I; −1ᵀ].
            var last = n - 1;
            var reduced = Matrix<double>.Build.Dense(last, last,
                (i, j) => curvature[i, j] - curvature[i, last] - curvature[last, j] + curvature[last, last]);
            var slope = Vector<double>.Build.Dense(last, i => gradient[i] - gradient[last]);
            Vector<double> free;
            try
            {
                free = reduced.Cholesky().Solve(slope);
            }
            catch (ArgumentException)
            {
                throw new InvalidOperationException("The comparison graph is not connected and there is no prior: the ratings are not identified.");
            }

            var step = new double[n];
            for (var i = 0; i < last; i++)
            {
                step[i] = free[i];
                step[last] -= free[i];
            }

            var scale = 1.0;
            var next = new double[n];
            double value;
            for (var halvings = 0; ; halvings++)
            {
                for (var i = 0; i < n; i++)
                {
                    next[i] = theta[i] + scale * step[i];
                }

                value = LogLikelihood(wins, next, priorGames);
                if (value >= current - 1e-12 * Math.Abs(current) || halvings == 40)
                {
                    break;
                }

                scale /= 2;
            }

            (theta, next) = (next, theta);
            current = value;
            if (scale * step.Max(Math.Abs) < tolerance)
            {
                break;
            }
        }

        return theta;
    }

    private static double[] Centred(double[] values)
    {
        var mean = values.Average();
        return values.Select(x => x - mean).ToArray();
    }

    /// <summary>Σ wins[i, j] · ln σ(θi − θj) plus the prior's half win and half loss against θ = 0 per model.</summary>
    private static double LogLikelihood(double[,] wins, double[] theta, double prior)
    {
        var n = theta.Length;
        var value = 0.0;
        for (var i = 0; i < n; i++)
        {
            value += prior / 2 * theta[i] - prior * LogOnePlusExp(theta[i]);
            for (var j = 0; j < n; j++)
            {
                if (i != j && wins[i, j] > 0)
                {
                    value -= wins[i, j] * LogOnePlusExp(theta[j] - theta[i]);
                }
            }
        }

        return value;
    }

    /// <summary>The gradient g of <see cref="LogLikelihood"/> and its negated Hessian A (the curvature).</summary>
    private static void Derivatives(double[,] wins, double[] theta, double prior, double[] gradient, double[,] curvature)
    {
        var n = theta.Length;
        Array.Clear(curvature);
        for (var i = 0; i < n; i++)
        {
            var toReference = Logistic(theta[i]);
            gradient[i] = prior / 2 - prior * toReference;
            curvature[i, i] = prior * toReference * (1 - toReference);
        }

        for (var i = 0; i < n; i++)
        {
            for (var j = i + 1; j < n; j++)
            {
                var games = wins[i, j] + wins[j, i];
                if (games <= 0)
                {
                    continue;
                }

                var p = Logistic(theta[i] - theta[j]);
                var expectedWins = games * p;
                gradient[i] += wins[i, j] - expectedWins;
                gradient[j] += wins[j, i] - (games - expectedWins);
                var information = games * p * (1 - p);
                curvature[i, i] += information;
                curvature[j, j] += information;
                curvature[i, j] -= information;
                curvature[j, i] -= information;
            }
        }
    }

    private static double Logistic(double x) => x >= 0 ? 1 / (1 + Math.Exp(-x)) : Math.Exp(x) / (1 + Math.Exp(x));

    /// <summary>ln(1 + eˣ) without overflow.</summary>
    private static double LogOnePlusExp(double x) => x > 0 ? x + Math.Log(1 + Math.Exp(-x)) : Math.Log(1 + Math.Exp(x));

    /// <summary>The Poisson bootstrap of a pair: each outcome count drawn from Poisson(count) (MathNet's sampler: constant time).</summary>
    private static (long, long, long, long) PoissonDraw(PairOutcome pair, Random random)
    {
        long Draw(long count) => count == 0 ? 0 : Poisson.Sample(random, count);
        return (Draw(pair.AWins), Draw(pair.BWins), Draw(pair.Ties), Draw(pair.BothBad));
    }

    /// <summary>Redraws all comparisons with replacement: as many draws as comparisons, each a (pair, outcome) cell by its count.</summary>
    private sealed class ComparisonRedraw(IReadOnlyList<PairOutcome> pairs)
    {
        private readonly long[] _cumulative = pairs
            .SelectMany(p => new[] { p.AWins, p.BWins, p.Ties, p.BothBad })
            .Aggregate(new List<long>(), (sums, count) =>
            {
                sums.Add((sums.Count == 0 ? 0 : sums[^1]) + count);
                return sums;
            }).ToArray();

        public (long, long, long, long)[] Draw(Random random)
        {
            var total = _cumulative.Length == 0 ? 0 : _cumulative[^1];
            var cells = new long[_cumulative.Length];
            for (long k = 0; k < total; k++)
            {
                var x = random.NextInt64(total);
                var cell = Array.BinarySearch(_cumulative, x);
                // The first cell whose cumulative count is above x.
                cell = cell >= 0 ? cell + 1 : ~cell;
                while (_cumulative[cell] <= x)
                {
                    cell++;
                }

                cells[cell]++;
            }

            return Enumerable.Range(0, pairs.Count).Select(p => (cells[4 * p], cells[4 * p + 1], cells[4 * p + 2], cells[4 * p + 3])).ToArray();
        }
    }
}
