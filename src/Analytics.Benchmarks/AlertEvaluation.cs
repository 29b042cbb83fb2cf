using System.Globalization;
using Analytics.Alerting;
using Analytics.Contracts;
using Analytics.Satisfaction;
using Analytics.Simulator;
using Spectre.Console;

namespace Analytics.Benchmarks;

/// <summary>
/// The evaluation harness of the regression detector (docs/alerts.md): simulated traffic in virtual time over
/// many seeds, half with an injected drop in one cell, fed minute by minute to the same
/// <see cref="RegressionDetector"/> the worker runs, beside the naive rule peers use (alert when the last hour's
/// thumbs-down rate of a cell is over a fixed threshold). No broker, no database: the counters are kept the way
/// the satisfaction projection keeps them (latest rating per turn, flips and withdrawals move counts).
/// </summary>
public static class AlertEvaluation
{
    private static readonly (string Model, string Version, string Capability)[] InjectedCells =
    [
        ("atlas", "2026-11", "browsing"), ("borealis", "1.5", "code_execution"),
        ("cirrus", "8", "file_analysis"), ("atlas", "2026-10", "chat"),
    ];

    public static int Run(AlertEvaluationOptions settings)
    {
        var detectorOptions = new RegressionDetectorOptions
        {
            Shift = settings.Shift,
            BaselineMargin = settings.Margin,
            Threshold = settings.Threshold,
            RecoveryThreshold = settings.RecoveryThreshold,
            MinimumBaselineRatings = settings.MinBaseline,
            MinimumWindowRatings = settings.MinWindow,
        };
        AnsiConsole.MarkupLine($"[bold]Regression alert evaluation[/]: {settings.Runs} runs (half with a drop of {settings.Drop:0.00} in one cell " +
            $"after {settings.WarmupHours} h), {settings.ConversationsPerMinute:N0} conversations/min (~{settings.ConversationsPerMinute * TrafficOptions.ApproximateEventsPerConversation / 60:N0} events/s) " +
            $"for {settings.WarmupHours + settings.HoursAfter} virtual hours each; CUSUM shift {settings.Shift}, h {settings.Threshold}, " +
            $"min baseline {settings.MinBaseline}, min window {settings.MinWindow}");

        var started = System.Diagnostics.Stopwatch.StartNew();
        var results = new RunResult[settings.Runs];
        Parallel.For(0, settings.Runs, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
            results[i] = RunOne(seed: 1000 + i, injected: i % 2 == 1 ? InjectedCells[i / 2 % InjectedCells.Length] : null, settings, detectorOptions));
        var events = results.Sum(r => r.Events);
        AnsiConsole.MarkupLine($"Simulated {events:N0} events in {started.Elapsed.TotalSeconds:N0} s.");

        var rules = new List<(string Name, Func<RunResult, Outcome> Pick)> { ("CUSUM (this platform)", r => r.Detector) };
        for (var t = 0; t < settings.NaiveThresholds.Count; t++)
        {
            var index = t;
            rules.Add(($"naive: last hour down rate > {settings.NaiveThresholds[t]:0.00}", r => r.Naive[index]));
        }

        var table = new ReportTable(string.Empty, "Rule", "False-alarm runs (no drop)", "Detected (drop)", "Median delay (events)",
            "Median delay (min)", "Other false alarms (drop runs)");
        foreach (var (name, pick) in rules)
        {
            var quiet = results.Where(r => r.Injected is null).ToList();
            var dropped = results.Where(r => r.Injected is not null).ToList();
            var falseAlarmRuns = quiet.Count(r => pick(r).FalseAlarms > 0);
            var detected = dropped.Select(pick).Where(o => o.DelayEvents is not null).ToList();
            table.AddRow(name,
                $"{falseAlarmRuns}/{quiet.Count} ({Share(falseAlarmRuns, quiet.Count)})",
                $"{detected.Count}/{dropped.Count} ({Share(detected.Count, dropped.Count)})",
                detected.Count == 0 ? "-" : Median(detected.Select(o => (double)o.DelayEvents!.Value)).ToString("N0", CultureInfo.InvariantCulture),
                detected.Count == 0 ? "-" : Median(detected.Select(o => o.DelayMinutes!.Value)).ToString("N0", CultureInfo.InvariantCulture),
                $"{dropped.Count(r => pick(r).FalseAlarms > 0)}/{dropped.Count}");
        }

        table.Write();
        if (settings.Markdown)
        {
            Console.WriteLine();
            table.WriteMarkdown(Console.Out);
        }

        return 0;
    }

    private static string Share(int part, int whole) => whole == 0 ? "-" : (100.0 * part / whole).ToString("0", CultureInfo.InvariantCulture) + "%";

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static RunResult RunOne(int seed, (string Model, string Version, string Capability)? injected, AlertEvaluationOptions settings,
        RegressionDetectorOptions detectorOptions)
    {
        var start = TrafficOptions.DefaultStart;
        var injectAt = start.AddHours(settings.WarmupHours);
        var end = injectAt.AddHours(settings.HoursAfter);
        var model = new TrafficModel(Traffic(seed, injected, settings, injectAt - start));
        var rules = new RulesUnderTest(seed, injected, injectAt, settings, detectorOptions);
        var counters = new Counters();
        long events = 0;
        long? eventsAtInjection = null;
        var nextLook = start.AddMinutes(1);

        foreach (var item in model.Generate())
        {
            var occurredAt = OccurredAt(item);
            while (occurredAt >= nextLook)
            {
                // One look per simulated minute, as the worker looks once a minute; both rules start after the first
                // hour, when the traffic has settled (late flips and withdrawals have started to arrive).
                var minute = counters.TakeMinute();
                if (nextLook >= start.AddHours(1))
                {
                    rules.Look(nextLook, counters, minute, events, eventsAtInjection);
                }

                nextLook = nextLook.AddMinutes(1);
            }

            if (occurredAt >= end)
            {
                break;
            }

            if (eventsAtInjection is null && occurredAt >= injectAt)
            {
                eventsAtInjection = events;
            }

            counters.Apply(item);
            events++;
        }

        return new RunResult(injected, events, rules.DetectorOutcome(), rules.NaiveOutcomes());
    }

    /// <summary>The simulated traffic of one run: the drop, when there is one, injected into its cell <paramref name="after"/> the start.</summary>
    private static TrafficOptions Traffic(int seed, (string Model, string Version, string Capability)? injected, AlertEvaluationOptions settings,
        TimeSpan after) => new()
        {
            Seed = seed,
            ConversationsPerMinute = settings.ConversationsPerMinute,
            VersionsShareRates = true,
            InjectRegression = injected is { } target
                ? new RegressionInjection(target.Model, target.Capability, settings.Drop) { ModelVersion = target.Version, AfterOffset = after }
                : null,
        };

    /// <summary>
    /// The rules of one run, the detector and the naive thresholds, each looking once a simulated minute, and what each
    /// did: an alert on the dropped cell after the drop is a detection, any other alert a false alarm.
    /// </summary>
    private sealed class RulesUnderTest
    {
        private readonly int _seed;
        private readonly (string Model, string Version, string Capability)? _injected;
        private readonly DateTimeOffset _injectAt;
        private readonly RegressionDetector _detector;
        private readonly NaiveRule[] _naive;
        private readonly OutcomeBuilder _detectorOutcome = new();
        private readonly OutcomeBuilder[] _naiveOutcomes;

        public RulesUnderTest(int seed, (string Model, string Version, string Capability)? injected, DateTimeOffset injectAt,
            AlertEvaluationOptions settings, RegressionDetectorOptions detectorOptions)
        {
            _seed = seed;
            _injected = injected;
            _injectAt = injectAt;
            _detector = new RegressionDetector(detectorOptions);
            _naive = settings.NaiveThresholds.Select(t => new NaiveRule(t, settings.NaiveMinRatings)).ToArray();
            _naiveOutcomes = _naive.Select(_ => new OutcomeBuilder()).ToArray();
        }

        /// <summary>The detector on the counters so far, then each naive rule on the minute's change.</summary>
        public void Look(DateTimeOffset at, Counters counters, Dictionary<CellKey, (long Rated, long Down)> minute, long events, long? eventsAtInjection)
        {
            foreach (var transition in _detector.Look(at, counters.Snapshot()))
            {
                if (transition is AlertRaised raised)
                {
                    if (Environment.GetEnvironmentVariable("ALERTS_VERBOSE") == "1" && !IsInjected(raised.Cell))
                    {
                        Console.Error.WriteLine($"seed {_seed} CUSUM alert {raised.Cell} at {at:HH:mm}: {raised.Evidence}");
                    }

                    _detectorOutcome.Alert(raised.Cell, at, events, _injectAt, eventsAtInjection, IsInjected(raised.Cell));
                }
            }

            for (var r = 0; r < _naive.Length; r++)
            {
                foreach (var cell in _naive[r].Look(minute))
                {
                    _naiveOutcomes[r].Alert(cell, at, events, _injectAt, eventsAtInjection, IsInjected(cell));
                }
            }
        }

        public Outcome DetectorOutcome() => _detectorOutcome.Build();

        public Outcome[] NaiveOutcomes() => _naiveOutcomes.Select(o => o.Build()).ToArray();

        private bool IsInjected(CellKey cell) => _injected is { } c && cell.ModelId == c.Model && cell.ModelVersion == c.Version
            && (cell.Capability == c.Capability || cell.Capability == SatisfactionQueries.AllCapabilities);
    }

    private static DateTimeOffset OccurredAt(object item) => item switch
    {
        ConversationStarted e => e.OccurredAt,
        ResponseGenerated e => e.OccurredAt,
        ResponseRated e => e.OccurredAt,
        ResponsesCompared e => e.OccurredAt,
        _ => throw new InvalidOperationException(item.GetType().Name),
    };

    private sealed record RunResult((string Model, string Version, string Capability)? Injected, long Events, Outcome Detector, Outcome[] Naive);

    /// <summary>What one rule did in one run: false alarms, and the delay to the first alert on the dropped cell.</summary>
    private sealed record Outcome(int FalseAlarms, long? DelayEvents, double? DelayMinutes);

    private sealed class OutcomeBuilder
    {
        private int _falseAlarms;
        private long? _delayEvents;
        private double? _delayMinutes;

        public void Alert(CellKey cell, DateTimeOffset at, long events, DateTimeOffset injectAt, long? eventsAtInjection, bool injectedCell)
        {
            if (injectedCell && at >= injectAt && eventsAtInjection is not null)
            {
                if (_delayEvents is null)
                {
                    _delayEvents = events - eventsAtInjection.Value;
                    _delayMinutes = (at - injectAt).TotalMinutes;
                }
            }
            else
            {
                _falseAlarms++;
            }
        }

        public Outcome Build() => new(_falseAlarms, _delayEvents, _delayMinutes);
    }

    /// <summary>
    /// The satisfaction counters of the projection, in memory: per response hour × cell, ratings and thumbs down,
    /// moved by the latest rating of each turn; plus the change per minute of arrival (for the naive rule).
    /// </summary>
    private sealed class Counters
    {
        private readonly Dictionary<Guid, (DateTimeOffset Hour, CellKey[] Cells)> _responses = [];
        private readonly Dictionary<Guid, (DateTimeOffset At, Rating Rating)> _ratings = [];
        private readonly Dictionary<(DateTimeOffset Hour, CellKey Cell), (long Rated, long Down)> _hourly = [];
        private Dictionary<CellKey, (long Rated, long Down)> _minute = [];

        public void Apply(object item)
        {
            switch (item)
            {
                case ResponseGenerated response when !_responses.ContainsKey(response.TurnId):
                    var cells = response.Capabilities.Distinct().Append(SatisfactionQueries.AllCapabilities)
                        .Select(c => new CellKey(response.Model.Id, response.Model.Version, c)).ToArray();
                    _responses[response.TurnId] = (SatisfactionProjection.HourOf(response.OccurredAt), cells);
                    if (_ratings.TryGetValue(response.TurnId, out var early))
                    {
                        Move(response.TurnId, Rating.None, early.Rating);
                    }

                    break;
                case ResponseRated rated:
                    var previous = _ratings.TryGetValue(rated.TurnId, out var p) ? p : ((DateTimeOffset At, Rating Rating)?)null;
                    if (previous is { } old && old.At > rated.OccurredAt)
                    {
                        break;
                    }

                    _ratings[rated.TurnId] = (rated.OccurredAt, rated.Rating);
                    Move(rated.TurnId, previous?.Rating ?? Rating.None, rated.Rating);
                    break;
            }
        }

        private void Move(Guid turnId, Rating from, Rating to)
        {
            if (!_responses.TryGetValue(turnId, out var response))
            {
                return;
            }

            var rated = (to != Rating.None ? 1 : 0) - (from != Rating.None ? 1 : 0);
            var down = (to == Rating.Down ? 1 : 0) - (from == Rating.Down ? 1 : 0);
            foreach (var cell in response.Cells)
            {
                var hourly = _hourly.GetValueOrDefault((response.Hour, cell));
                _hourly[(response.Hour, cell)] = (hourly.Rated + rated, hourly.Down + down);
                var minute = _minute.GetValueOrDefault(cell);
                _minute[cell] = (minute.Rated + rated, minute.Down + down);
            }
        }

        public List<HourlyCellCount> Snapshot() =>
            _hourly.Select(h => new HourlyCellCount(h.Key.Hour, h.Key.Cell, h.Value.Rated, h.Value.Down)).ToList();

        public Dictionary<CellKey, (long Rated, long Down)> TakeMinute()
        {
            var minute = _minute;
            _minute = [];
            return minute;
        }
    }

    /// <summary>The peers' rule: alert when a cell's thumbs-down rate over the last 60 minutes is over a fixed threshold.</summary>
    private sealed class NaiveRule(double threshold, long minimumRatings)
    {
        private readonly Queue<Dictionary<CellKey, (long Rated, long Down)>> _lastHour = new();
        private readonly Dictionary<CellKey, (long Rated, long Down)> _sums = [];
        private readonly HashSet<CellKey> _active = [];

        public IEnumerable<CellKey> Look(Dictionary<CellKey, (long Rated, long Down)> minute)
        {
            _lastHour.Enqueue(minute);
            Add(minute, 1);
            if (_lastHour.Count > 60)
            {
                Add(_lastHour.Dequeue(), -1);
            }

            var raised = new List<CellKey>();
            foreach (var (cell, (rated, down)) in _sums)
            {
                var over = rated >= minimumRatings && (double)down / rated > threshold;
                if (over && _active.Add(cell))
                {
                    raised.Add(cell);
                }
                else if (!over)
                {
                    _active.Remove(cell);
                }
            }

            return raised;
        }

        private void Add(Dictionary<CellKey, (long Rated, long Down)> minute, int sign)
        {
            foreach (var (cell, (rated, down)) in minute)
            {
                var sum = _sums.GetValueOrDefault(cell);
                _sums[cell] = (sum.Rated + (sign * rated), sum.Down + (sign * down));
            }
        }
    }
}
