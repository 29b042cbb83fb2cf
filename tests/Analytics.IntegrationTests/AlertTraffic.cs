using Analytics.Alerting;
using Analytics.Simulator;

namespace Analytics.IntegrationTests;

/// <summary>
/// Simulated traffic for the alert tests: every response rated, none withdrawn or flipped, the versions of a model
/// sharing their rates, so that only an injected regression moves a cell against its baseline.
/// </summary>
public static class AlertTraffic
{
    /// <summary>The cell's version loses <paramref name="drop"/> of its satisfaction; its previous version (the baseline) does not.</summary>
    public static IEnumerable<object> Regressed(int seed, DateTimeOffset start, CellKey cell, double drop = 0.5) =>
        Generate(seed, start, new RegressionInjection(cell.ModelId, cell.Capability, drop) { ModelVersion = cell.ModelVersion });

    /// <summary>The same traffic without a regression: a regressed cell recovers.</summary>
    public static IEnumerable<object> Healthy(int seed, DateTimeOffset start) => Generate(seed, start, regression: null);

    private static IEnumerable<object> Generate(int seed, DateTimeOffset start, RegressionInjection? regression) =>
        new TrafficModel(new TrafficOptions
        {
            Seed = seed,
            Start = start,
            VersionsShareRates = true,
            RatingProbability = 1,
            RatingWithdrawProbability = 0,
            RatingFlipProbability = 0,
            InjectRegression = regression,
        }).Generate();
}
