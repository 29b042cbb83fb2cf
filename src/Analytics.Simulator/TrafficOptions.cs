namespace Analytics.Simulator;

/// <summary>
/// Settings for a <see cref="TrafficModel"/>. Every property has a sensible default, so
/// <c>new TrafficOptions { Seed = 1 }</c> is a complete configuration.
/// </summary>
public sealed record TrafficOptions
{
    /// <summary>The default virtual start time: 2026-01-01T00:00:00Z.</summary>
    public static readonly DateTimeOffset DefaultStart = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// A rough average of events per conversation with the default probabilities (used to convert an
    /// event rate into <see cref="ConversationsPerMinute"/>).
    /// </summary>
    public const double ApproximateEventsPerConversation = 4.6;

    /// <summary>Seed of the <see cref="System.Random"/> that drives everything: same seed, same events (ids included).</summary>
    public int Seed { get; init; } = 42;

    /// <summary>Virtual time of the first conversation; every <c>occurredAt</c> is at or after it.</summary>
    public DateTimeOffset Start { get; init; } = DefaultStart;

    /// <summary>Average arrival rate of new conversations in virtual time (a Poisson process).</summary>
    public double ConversationsPerMinute { get; init; } = 120;

    /// <summary>Share of responses that get a thumbs up or down (the rating rate).</summary>
    public double RatingProbability { get; init; } = 0.25;

    /// <summary>Share of conversations whose user has custom instructions.</summary>
    public double CustomInstructionsProbability { get; init; } = 0.30;

    /// <summary>Share of conversations enrolled in the behaviour-variant experiment.</summary>
    public double ExperimentProbability { get; init; } = 0.25;

    /// <summary>Share of turns the user regenerates (a second response with <c>regeneratedFrom</c>).</summary>
    public double RegenerationProbability { get; init; } = 0.06;

    /// <summary>Share of turns shown as a side-by-side comparison of two models.</summary>
    public double ComparisonProbability { get; init; } = 0.04;

    /// <summary>Share of responses flagged by moderation.</summary>
    public double ModerationFlagProbability { get; init; } = 0.008;

    /// <summary>Share of thumbs-up ratings later changed to thumbs down.</summary>
    public double RatingFlipProbability { get; init; } = 0.04;

    /// <summary>Share of ratings later withdrawn (rating <c>none</c>).</summary>
    public double RatingWithdrawProbability { get; init; } = 0.02;

    /// <summary>Share of first ratings yielded just before the response they rate (out-of-order arrival).</summary>
    public double OutOfOrderProbability { get; init; } = 0.02;

    /// <summary>Share of comments that contain an e-mail address or a phone number (planted PII).</summary>
    public double PiiCommentProbability { get; init; } = 0.15;

    /// <summary>
    /// When true, every version of a model family has the same thumbs-up rate per capability (the first version's),
    /// so that no version is better or worse than its predecessor unless a regression is injected (used to evaluate
    /// regression alerts against a known truth). When false (default), each version × capability has its own rate.
    /// </summary>
    public bool VersionsShareRates { get; init; }

    /// <summary>An optional regression: one model × capability cell gets worse from some point on.</summary>
    public RegressionInjection? InjectRegression { get; init; }
}

/// <summary>
/// Lowers the thumbs-up rate of one cell (model id, optionally one version, × capability) by
/// <see cref="Drop"/> (e.g. 0.10 = ten points), for conversations that start after
/// <see cref="AfterEvents"/> events were yielded and/or at or after <see cref="TrafficOptions.Start"/> + <see cref="AfterOffset"/>
/// (when both are set, both must hold; when neither is set, from the beginning).
/// Side-by-side comparisons involving the cell get worse as well.
/// </summary>
public sealed record RegressionInjection(string ModelId, string Capability, double Drop)
{
    /// <summary>Only this version of <see cref="ModelId"/>; null means every version of the family.</summary>
    public string? ModelVersion { get; init; }

    /// <summary>Applies once this many events have been yielded.</summary>
    public long? AfterEvents { get; init; }

    /// <summary>Applies to conversations starting this long after <see cref="TrafficOptions.Start"/>.</summary>
    public TimeSpan? AfterOffset { get; init; }

    /// <summary>Parses <c>MODEL[@VERSION]:CAPABILITY:AFTER_EVENTS:DROP</c>, e.g. <c>atlas@2026-11:browsing:5000:0.10</c>.</summary>
    public static RegressionInjection Parse(string text)
    {
        var parts = text.Split(':');
        if (parts.Length != 4)
        {
            throw new FormatException("expected MODEL[@VERSION]:CAPABILITY:AFTER:DROP, e.g. atlas:browsing:5000:0.10");
        }

        var model = parts[0].Split('@', 2);
        if (model[0].Length == 0 || parts[1].Length == 0)
        {
            throw new FormatException("model and capability must not be empty");
        }

        if (!long.TryParse(parts[2], System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var after) || after < 0)
        {
            throw new FormatException($"AFTER must be a number of events >= 0, not '{parts[2]}'");
        }

        if (!double.TryParse(parts[3], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var drop) || drop is <= 0 or >= 1)
        {
            throw new FormatException($"DROP must be between 0 and 1 (points as a fraction, e.g. 0.08), not '{parts[3]}'");
        }

        return new RegressionInjection(model[0], parts[1], drop)
        {
            ModelVersion = model.Length == 2 && model[1].Length > 0 ? model[1] : null,
            AfterEvents = after,
        };
    }
}
