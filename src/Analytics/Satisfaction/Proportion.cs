namespace Analytics.Satisfaction;

/// <summary>A proportion with its Wilson score interval (95% unless told otherwise).</summary>
public sealed record Proportion(long Successes, long Trials, double? Rate, double? Lower, double? Upper)
{
    private const double Z95 = 1.959963984540054;

    public static Proportion Of(long successes, long trials, double z = Z95)
    {
        if (trials <= 0)
        {
            return new Proportion(successes, trials, null, null, null);
        }

        double n = trials;
        var p = successes / n;
        var z2 = z * z;
        var centre = (p + z2 / (2 * n)) / (1 + z2 / n);
        var half = z / (1 + z2 / n) * Math.Sqrt(p * (1 - p) / n + z2 / (4 * n * n));
        return new Proportion(successes, trials, p, Math.Max(0, centre - half), Math.Min(1, centre + half));
    }
}
