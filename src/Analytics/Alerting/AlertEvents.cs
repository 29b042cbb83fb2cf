namespace Analytics.Alerting;

/// <summary>
/// A monitored cell: one model version on one capability, or on all of them (capability "*", the model
/// version overall).
/// </summary>
public sealed record CellKey(string ModelId, string ModelVersion, string Capability)
{
    public override string ToString() => $"{ModelId}@{ModelVersion} × {Capability}";
}

/// <summary>What the cell is compared with.</summary>
public static class BaselineKinds
{
    /// <summary>The previous version of the same model on the same capability, over the trailing window.</summary>
    public const string PreviousVersion = "previous_version";

    /// <summary>The cell's own ratings over the trailing window, before the most recent hours.</summary>
    public const string TrailingWindow = "trailing_window";
}

/// <summary>
/// The numbers behind a detection or a resolution. Rates are thumbs-down rates (down / rated; satisfaction is
/// one minus it), each with its Wilson 95% interval. The window is the run of ratings over which the sequential
/// statistic built up: since it last stood at zero. Dispersion is the variance inflation the statistic was scaled
/// down by (ratings of one conversation are alike, so they carry less evidence than independent ones).
/// </summary>
public sealed record RegressionEvidence(
    string BaselineKind,
    string BaselineVersion,
    long BaselineRated,
    long BaselineDown,
    double BaselineDownRate,
    double BaselineLower,
    double BaselineUpper,
    DateTimeOffset WindowStart,
    DateTimeOffset WindowEnd,
    long WindowRated,
    long WindowDown,
    double WindowDownRate,
    double WindowLower,
    double WindowUpper,
    double Statistic,
    double Threshold,
    double Shift,
    double Dispersion,
    double PValue);

/// <summary>The cell's thumbs-down rate rose above its baseline by the detector's rule (see docs/alerts.md).</summary>
public sealed record RegressionDetected(Guid AlertId, CellKey Cell, DateTimeOffset DetectedAt, RegressionEvidence Evidence);

/// <summary>The cell's thumbs-down rate went back to its baseline; the alert is over.</summary>
public sealed record RegressionResolved(Guid AlertId, CellKey Cell, DateTimeOffset ResolvedAt, RegressionEvidence Evidence);

/// <summary>Someone with the triager role took the alert on.</summary>
public sealed record RegressionAcknowledged(Guid AlertId, string Actor, DateTimeOffset AcknowledgedAt, string? Note);
