using System.Globalization;
using Analytics.Satisfaction;
using MathNet.Numerics.Distributions;

namespace Analytics.Alerting;

/// <summary>Ratings of one cell in one hour, as the satisfaction counters hold them (latest rating per turn).</summary>
public sealed record HourlyCellCount(DateTimeOffset Hour, CellKey Cell, long Rated, long Down);

/// <summary>The detector's parameters; docs/alerts.md explains each value and how it was chosen.</summary>
public sealed record RegressionDetectorOptions
{
    /// <summary>The rise of the thumbs-down rate (absolute) the test is tuned to detect: p1 = p0 + Shift.</summary>
    public double Shift { get; init; } = 0.06;

    /// <summary>CUSUM decision threshold h (log-likelihood ratio, nats) for raising an alert.</summary>
    public double Threshold { get; init; } = 10;

    /// <summary>Threshold of the reverse CUSUM (evidence for p0 over p1) that resolves an active alert.</summary>
    public double RecoveryThreshold { get; init; } = 4;

    /// <summary>
    /// The baseline rate p0 is its estimate plus this many standard errors: an estimated baseline is uncertain, and a
    /// p0 set too low makes the CUSUM drift upwards on a healthy cell.
    /// </summary>
    public double BaselineMargin { get; init; } = 1.5;

    /// <summary>A baseline with fewer ratings is not trusted: the cell is not judged.</summary>
    public long MinimumBaselineRatings { get; init; } = 300;

    /// <summary>No alert before the window holds this many ratings, however strong the statistic.</summary>
    public long MinimumWindowRatings { get; init; } = 60;

    /// <summary>Hours with fewer ratings than this are left out of the dispersion estimate.</summary>
    public long MinimumHourRatings { get; init; } = 20;

    /// <summary>Until the dispersion estimate has this many degrees of freedom, the maximum dispersion is assumed.</summary>
    public long MinimumDispersionDegreesOfFreedom { get; init; } = 10;

    /// <summary>The largest variance inflation assumed (and the one assumed before it can be estimated).</summary>
    public double MaximumDispersion { get; init; } = 4;

    /// <summary>How far back baselines reach from the latest hour with data (never from after the hour of the look).</summary>
    public TimeSpan BaselineWindow { get; init; } = TimeSpan.FromDays(7);

    /// <summary>A cell's own baseline leaves out its most recent hours, so that a fresh drop does not hide in it.</summary>
    public TimeSpan TrailingGap { get; init; } = TimeSpan.FromHours(3);
}

/// <summary>An alert raised or resolved by a look.</summary>
public abstract record AlertTransition(CellKey Cell, Guid AlertId, RegressionEvidence Evidence);

public sealed record AlertRaised(CellKey Cell, Guid AlertId, RegressionEvidence Evidence) : AlertTransition(Cell, AlertId, Evidence);

public sealed record AlertCleared(CellKey Cell, Guid AlertId, RegressionEvidence Evidence) : AlertTransition(Cell, AlertId, Evidence);

/// <summary>
/// Regression detection over model version × capability cells: a one-sided Bernoulli CUSUM per cell on the
/// thumbs-down rate against a baseline rate p0 (the previous version of the model on the capability, else the
/// cell's own trailing window), tuned to a rise to p0 + <see cref="RegressionDetectorOptions.Shift"/>.
/// <para>
/// Each <see cref="Look"/> takes the current hourly counters (a snapshot of the trailing window), turns the
/// change since the previous look into new evidence, and updates every cell. CUSUM is a sequential procedure:
/// looking every minute only adds evidence to a running statistic, it does not re-test, so frequent looks do not
/// inflate the false-alarm rate (which is set by the threshold, see docs/alerts.md). An alerting cell does not
/// alert again; a reverse CUSUM (evidence for p0 over p1) resolves it. Pure and deterministic: no clock, no I/O.
/// </para>
/// </summary>
public sealed class RegressionDetector(RegressionDetectorOptions options)
{
    private readonly Dictionary<CellKey, CellMonitor> _cells = [];
    private Dictionary<(DateTimeOffset Hour, CellKey Cell), (long Rated, long Down)>? _lastSeen;

    public RegressionDetectorOptions Options => options;

    /// <summary>The cells with an active alert and its id.</summary>
    public IReadOnlyDictionary<CellKey, Guid> ActiveAlerts =>
        _cells.Where(c => c.Value.AlertId is not null).ToDictionary(c => c.Key, c => c.Value.AlertId!.Value);

    /// <summary>The current CUSUM statistic of each cell (for metrics).</summary>
    public IEnumerable<(CellKey Cell, double Statistic)> Statistics => _cells.Select(c => (c.Key, c.Value.Statistic));

    /// <summary>
    /// Marks a cell as alerting (after a restart, from the stored alerts), with the baseline rate the alert was
    /// raised against, so that the alert can resolve.
    /// </summary>
    public void Restore(CellKey cell, Guid alertId, RegressionEvidence detectedWith)
    {
        var monitor = Monitor(cell);
        monitor.AlertId = alertId;
        monitor.FrozenBaseline = Baseline.From(detectedWith);
    }

    public IReadOnlyList<AlertTransition> Look(DateTimeOffset now, IReadOnlyCollection<HourlyCellCount> counts)
    {
        var current = new Dictionary<(DateTimeOffset, CellKey), (long Rated, long Down)>(counts.Count);
        foreach (var count in counts)
        {
            current[(count.Hour, count.Cell)] = (count.Rated, count.Down);
        }

        var previous = _lastSeen;
        _lastSeen = current;
        if (previous is null || counts.Count == 0)
        {
            // The first look only learns where the counters stand: what was counted before it is history, not news.
            return [];
        }

        var increments = new Dictionary<CellKey, (long Rated, long Down)>();
        foreach (var ((hour, cell), count) in current)
        {
            var before = previous.GetValueOrDefault((hour, cell));
            var rated = count.Rated - before.Rated;
            var down = count.Down - before.Down;
            if (rated != 0 || down != 0)
            {
                var sum = increments.GetValueOrDefault(cell);
                increments[cell] = (sum.Rated + rated, sum.Down + down);
            }
        }

        var baselines = new BaselineIndex(counts, SatisfactionProjection.HourOf(now), options);
        var transitions = new List<AlertTransition>();
        foreach (var (cell, increment) in increments.OrderBy(i => i.Key.ToString(), StringComparer.Ordinal))
        {
            var monitor = Monitor(cell);
            var baseline = monitor.FrozenBaseline ?? baselines.For(cell);
            if (baseline is null)
            {
                continue;
            }

            var transition = monitor.Observe(cell, now, increment.Rated, increment.Down, baseline, baselines.DispersionOf(cell), options);
            if (transition is not null)
            {
                transitions.Add(transition);
            }
        }

        return transitions;
    }

    private CellMonitor Monitor(CellKey cell)
    {
        if (!_cells.TryGetValue(cell, out var monitor))
        {
            monitor = new CellMonitor();
            _cells[cell] = monitor;
        }

        return monitor;
    }

    /// <summary>Log-likelihood ratio of p1 against p0 for <paramref name="down"/> thumbs down among <paramref name="rated"/> ratings.</summary>
    public static double LogLikelihoodRatio(long rated, long down, double p0, double p1) =>
        (down * Math.Log(p1 / p0)) + ((rated - down) * Math.Log((1 - p1) / (1 - p0)));

    /// <summary>The rates the CUSUM compares: p0 from the baseline (kept off 0 and 1), p1 = p0 + shift.</summary>
    public static (double P0, double P1) Hypotheses(double baselineRate, double shift)
    {
        var p0 = Math.Clamp(baselineRate, 0.005, 0.9);
        return (p0, Math.Min(p0 + shift, 0.995));
    }

    internal sealed record Baseline(string Kind, string Version, long Rated, long Down)
    {
        public double Rate => Rated == 0 ? 0 : (double)Down / Rated;

        public double StandardError => Rated == 0 ? 0 : Math.Sqrt(Rate * (1 - Rate) / Rated);

        public static Baseline From(RegressionEvidence evidence) =>
            new(evidence.BaselineKind, evidence.BaselineVersion, evidence.BaselineRated, evidence.BaselineDown);
    }

    /// <summary>The state of one cell: the detecting CUSUM, or (while alerting) the recovering one.</summary>
    private sealed class CellMonitor
    {
        public double Statistic { get; private set; }

        public Guid? AlertId { get; set; }

        public Baseline? FrozenBaseline { get; set; }

        private long _windowRated;
        private long _windowDown;
        private DateTimeOffset _windowStart;

        public AlertTransition? Observe(CellKey cell, DateTimeOffset now, long rated, long down, Baseline baseline, double dispersion,
            RegressionDetectorOptions options)
        {
            var (p0, p1) = Hypotheses(baseline.Rate + (options.BaselineMargin * baseline.StandardError * Math.Sqrt(dispersion)), options.Shift);
            // Quasi-likelihood: overdispersed counts carry 1/dispersion of the evidence of independent ratings.
            var llr = LogLikelihoodRatio(rated, down, p0, p1) / dispersion;
            // Normal: evidence for p1 (worse) over p0. Alerting: the reverse, evidence that the rate is back at p0.
            var alerting = AlertId is not null;
            var runStarts = Statistic == 0;
            Statistic = Math.Max(0, Statistic + (alerting ? -llr : llr));
            if (Statistic == 0 || runStarts)
            {
                ClearWindow(now);
            }

            if (Statistic == 0)
            {
                return null;
            }

            _windowRated += rated;
            _windowDown += down;
            var threshold = alerting ? options.RecoveryThreshold : options.Threshold;
            if (Statistic < threshold || _windowRated < options.MinimumWindowRatings)
            {
                return null;
            }

            var evidence = Evidence(now, baseline, threshold, options.Shift, dispersion);
            AlertTransition transition;
            if (alerting)
            {
                transition = new AlertCleared(cell, AlertId!.Value, evidence);
                AlertId = null;
                FrozenBaseline = null;
            }
            else
            {
                AlertId = Guid.CreateVersion7(now);
                FrozenBaseline = baseline;
                transition = new AlertRaised(cell, AlertId.Value, evidence);
            }

            Statistic = 0;
            ClearWindow(now);
            return transition;
        }

        private void ClearWindow(DateTimeOffset now)
        {
            _windowRated = 0;
            _windowDown = 0;
            _windowStart = now;
        }

        private RegressionEvidence Evidence(DateTimeOffset now, Baseline baseline, double threshold, double shift, double dispersion)
        {
            var before = Proportion.Of(baseline.Down, baseline.Rated);
            var window = Proportion.Of(Math.Max(0, _windowDown), Math.Max(0, _windowRated));
            return new RegressionEvidence(baseline.Kind, baseline.Version, baseline.Rated, baseline.Down,
                before.Rate ?? 0, before.Lower ?? 0, before.Upper ?? 1,
                _windowStart, now, _windowRated, _windowDown, window.Rate ?? 0, window.Lower ?? 0, window.Upper ?? 1,
                Math.Round(Statistic, 3), threshold, shift, Math.Round(dispersion, 3), OneSidedPValue(window, before));
        }
    }

    /// <summary>One-sided two-proportion z-test: is the window's thumbs-down rate above the baseline's?</summary>
    public static double OneSidedPValue(Proportion window, Proportion baseline)
    {
        if (window.Trials == 0 || baseline.Trials == 0)
        {
            return 1;
        }

        var pooled = (double)(window.Successes + baseline.Successes) / (window.Trials + baseline.Trials);
        var se = Math.Sqrt(pooled * (1 - pooled) * ((1.0 / window.Trials) + (1.0 / baseline.Trials)));
        if (se == 0)
        {
            return 1;
        }

        var z = ((window.Rate ?? 0) - (baseline.Rate ?? 0)) / se;
        return 1 - Normal.CDF(0, 1, z);
    }

    /// <summary>
    /// Baselines from a snapshot of hourly counts: the previous version of the same model on the same capability
    /// (over the trailing window), else the cell's own ratings before the trailing gap.
    /// </summary>
    private sealed class BaselineIndex
    {
        private readonly RegressionDetectorOptions _options;
        private readonly Dictionary<CellKey, (long Rated, long Down)> _window = [];
        private readonly Dictionary<CellKey, (long Rated, long Down)> _beforeGap = [];
        private readonly Dictionary<(string ModelId, string Version), DateTimeOffset> _firstSeen = [];
        private readonly double _modelDispersion;
        private readonly double _capabilityDispersion;

        /// <param name="currentHour">The hour of the look: the windows end at the latest hour with data, never after it.</param>
        public BaselineIndex(IReadOnlyCollection<HourlyCellCount> counts, DateTimeOffset currentHour, RegressionDetectorOptions options)
        {
            _options = options;
            var latest = Earlier(counts.Max(c => c.Hour), currentHour);
            _modelDispersion = Dispersion(counts.Where(c => c.Cell.Capability == SatisfactionQueries.AllCapabilities && c.Hour < latest), options);
            _capabilityDispersion = Dispersion(counts.Where(c => c.Cell.Capability != SatisfactionQueries.AllCapabilities && c.Hour < latest), options);
            var from = latest - options.BaselineWindow;
            // The gap is each cell's own: it ends at that cell's latest hour (never after the hour of the look), so another
            // cell's newer traffic cannot pull this cell's recent hours into its baseline.
            var gapStarts = counts.GroupBy(c => c.Cell)
                .ToDictionary(g => g.Key, g => Earlier(g.Max(c => c.Hour), currentHour) - options.TrailingGap);
            foreach (var count in counts)
            {
                var key = (count.Cell.ModelId, count.Cell.ModelVersion);
                if (!_firstSeen.TryGetValue(key, out var first) || count.Hour < first)
                {
                    _firstSeen[key] = count.Hour;
                }

                if (count.Hour < from)
                {
                    continue;
                }

                Add(_window, count);
                if (count.Hour < gapStarts[count.Cell])
                {
                    Add(_beforeGap, count);
                }
            }
        }

        private static DateTimeOffset Earlier(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

        public double DispersionOf(CellKey cell) =>
            cell.Capability == SatisfactionQueries.AllCapabilities ? _modelDispersion : _capabilityDispersion;

        /// <summary>
        /// Pooled Pearson dispersion of complete hours around each cell's own rate (χ² / degrees of freedom over the
        /// cells of one kind): 1 for independent ratings, more when hours vary more than binomial noise explains.
        /// </summary>
        private static double Dispersion(IEnumerable<HourlyCellCount> hours, RegressionDetectorOptions options)
        {
            double chiSquare = 0;
            long degreesOfFreedom = 0;
            foreach (var cell in hours.Where(h => h.Rated >= options.MinimumHourRatings).GroupBy(h => h.Cell))
            {
                var list = cell.ToList();
                var rate = (double)list.Sum(h => h.Down) / list.Sum(h => h.Rated);
                if (list.Count < 2 || rate is <= 0 or >= 1)
                {
                    continue;
                }

                chiSquare += list.Sum(h => Math.Pow(h.Down - (h.Rated * rate), 2) / (h.Rated * rate * (1 - rate)));
                degreesOfFreedom += list.Count - 1;
            }

            return degreesOfFreedom < options.MinimumDispersionDegreesOfFreedom
                ? options.MaximumDispersion
                : Math.Clamp(chiSquare / degreesOfFreedom, 1, options.MaximumDispersion);
        }

        private static void Add(Dictionary<CellKey, (long Rated, long Down)> sums, HourlyCellCount count)
        {
            var sum = sums.GetValueOrDefault(count.Cell);
            sums[count.Cell] = (sum.Rated + count.Rated, sum.Down + count.Down);
        }

        public Baseline? For(CellKey cell)
        {
            if (PreviousVersion(cell) is { } previous
                && _window.GetValueOrDefault(cell with { ModelVersion = previous }) is var (rated, down)
                && rated >= _options.MinimumBaselineRatings)
            {
                return new Baseline(BaselineKinds.PreviousVersion, previous, rated, down);
            }

            var own = _beforeGap.GetValueOrDefault(cell);
            return own.Rated >= _options.MinimumBaselineRatings
                ? new Baseline(BaselineKinds.TrailingWindow, cell.ModelVersion, own.Rated, own.Down)
                : null;
        }

        /// <summary>The version of the same model seen last before this one (ties: the lower version number).</summary>
        private string? PreviousVersion(CellKey cell)
        {
            if (!_firstSeen.TryGetValue((cell.ModelId, cell.ModelVersion), out var mine))
            {
                return null;
            }

            return _firstSeen
                .Where(v => v.Key.ModelId == cell.ModelId && v.Key.Version != cell.ModelVersion
                    && (v.Value < mine || (v.Value == mine && CompareVersions(v.Key.Version, cell.ModelVersion) < 0)))
                .OrderByDescending(v => v.Value)
                .ThenByDescending(v => v.Key.Version, Comparer<string>.Create(CompareVersions))
                .Select(v => v.Key.Version)
                .FirstOrDefault();
        }
    }

    /// <summary>Numeric when both versions are numbers (7 &lt; 8, 1.4 &lt; 1.5), otherwise ordinal (2026-10 &lt; 2026-11).</summary>
    public static int CompareVersions(string a, string b) =>
        Version.TryParse(a.Contains('.') ? a : a + ".0", out var va) && Version.TryParse(b.Contains('.') ? b : b + ".0", out var vb)
            ? va.CompareTo(vb)
            : double.TryParse(a, NumberStyles.Float, CultureInfo.InvariantCulture, out var da)
                && double.TryParse(b, NumberStyles.Float, CultureInfo.InvariantCulture, out var db)
                ? da.CompareTo(db)
                : string.CompareOrdinal(a, b);
}
