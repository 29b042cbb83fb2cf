using System.Globalization;
using Analytics.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Analytics.Satisfaction;

/// <summary>
/// How far the satisfaction views are behind the event store when the answer was read: <c>Events</c> stored but not
/// yet projected, and <c>Seconds</c> since the oldest of them was stored.
/// </summary>
public sealed record ViewLag(long Events, double Seconds);

/// <summary>
/// Where the satisfaction views stand: <c>Position</c> is the last event sequence number the projection processed (0
/// before its first page), <c>AsOf</c> the time that event was stored (null before the first page), <c>Lag</c> null
/// when the projection has processed every stored event, else how far behind it is.
/// </summary>
public sealed record ViewPosition(long Position, DateTimeOffset? AsOf, ViewLag? Lag);

/// <summary>
/// The answer of every aggregate read endpoint (matrix, over-time, reasons, head-to-head): the effective window
/// [<c>From</c>, <c>To</c>) that the counts cover, widened from the requested one (<c>RequestedFrom</c>,
/// <c>RequestedTo</c>) to whole buckets (<see cref="AnswerWindow"/>); the <c>Bucket</c> ("hour" or "day"); the views'
/// position (<c>AsOf</c>, <c>Position</c>, <c>Lag</c>: <see cref="ViewPosition"/>); then the <c>Items</c>.
/// </summary>
public sealed record WindowedAnswer<T>(
    DateTimeOffset From, DateTimeOffset To, string Bucket, DateTimeOffset RequestedFrom, DateTimeOffset RequestedTo,
    DateTimeOffset? AsOf, long Position, ViewLag? Lag, IReadOnlyList<T> Items)
{
    public static WindowedAnswer<T> Of(AnswerWindow window, ViewPosition position, IReadOnlyList<T> items) =>
        new(window.From, window.To, window.Bucket, window.RequestedFrom, window.RequestedTo, position.AsOf, position.Position, position.Lag, items);
}

/// <summary>
/// The window rule of the aggregate read endpoints. The views count per UTC hour (over-time may sum them per UTC day):
/// every bucket that overlaps the requested window [from, to) is counted whole, so the effective window is the requested
/// one widened to whole buckets: <c>From</c> = from rounded down to its bucket's start, <c>To</c> = to rounded up to a
/// bucket boundary. A rating at 09:40 is in <c>from=09:25&amp;to=…</c> (effective from 09:00), never silently left out.
/// </summary>
public sealed record AnswerWindow(DateTimeOffset From, DateTimeOffset To, string Bucket, DateTimeOffset RequestedFrom, DateTimeOffset RequestedTo)
{
    public const string Hour = "hour";
    public const string Day = "day";

    /// <summary>The OpenAPI words for the rule, shared by every aggregate endpoint's description.</summary>
    public const string Rule =
        "Window rule: every UTC bucket (hour; for over-time with bucket=day, day) that overlaps [from, to) is counted whole, so the "
        + "effective window is the requested one widened to whole buckets. The answer is an object: from/to (the effective window, "
        + "to exclusive), bucket, requestedFrom/requestedTo, asOf (when the last event the views processed was stored), position "
        + "(its sequence number), lag (null when the views have processed every stored event, else {events, seconds}), then items.";

    /// <summary>
    /// The effective window of a request: to defaults to now, from to <paramref name="defaultDays"/> before to; from must be
    /// before to, the span at most <paramref name="maxRange"/> (and <paramref name="maxHourlyRange"/> for hourly buckets),
    /// both within <see cref="ParameterProblems.OutOfRange"/>'s range.
    /// </summary>
    public static (AnswerWindow Window, ProblemHttpResult? Problem) Resolve(DateTimeOffset? from, DateTimeOffset? to, string bucket,
        int defaultDays, TimeSpan maxRange, TimeSpan? maxHourlyRange = null)
    {
        if ((ParameterProblems.OutOfRange("from", from) ?? ParameterProblems.OutOfRange("to", to)) is { } outside)
        {
            return (Widen(ParameterProblems.EarliestInstant, ParameterProblems.EarliestInstant, bucket), outside);
        }

        var end = to ?? DateTimeOffset.UtcNow;
        var start = from ?? end.AddDays(-defaultDays);
        var window = Widen(start, end, bucket);
        if (start >= end)
        {
            return (window, ParameterProblems.Invalid("from must be before to", "from", start.ToString("O", CultureInfo.InvariantCulture),
                $"{ParameterProblems.DateTimeForm}, before to ({end.ToString("O", CultureInfo.InvariantCulture)})"));
        }

        if (end - start > maxRange)
        {
            return (window, ParameterProblems.Invalid("Range too long", "from", start.ToString("O", CultureInfo.InvariantCulture),
                $"{ParameterProblems.DateTimeForm}, at most {maxRange.TotalDays:0} days before to ({end.ToString("O", CultureInfo.InvariantCulture)})"));
        }

        if (bucket == Hour && maxHourlyRange is { } hourly && end - start > hourly)
        {
            return (window, ParameterProblems.Invalid("Bucket too fine for the range", "bucket", bucket,
                $"day, or a window of at most {hourly.TotalDays:0} days for hourly buckets (this one spans {(end - start).TotalDays:0.#} days)"));
        }

        return (window, null);
    }

    public static AnswerWindow Widen(DateTimeOffset requestedFrom, DateTimeOffset requestedTo, string bucket)
    {
        var (from, to) = (requestedFrom.ToUniversalTime(), requestedTo.ToUniversalTime());
        return new AnswerWindow(Floor(from, bucket), Ceiling(to, bucket), bucket, from, to);
    }

    public static DateTimeOffset Floor(DateTimeOffset instant, string bucket)
    {
        var utc = instant.UtcDateTime;
        var start = bucket == Day
            ? new DateTime(utc.Year, utc.Month, utc.Day, 0, 0, 0, DateTimeKind.Utc)
            : new DateTime(utc.Year, utc.Month, utc.Day, utc.Hour, 0, 0, DateTimeKind.Utc);
        return new DateTimeOffset(start);
    }

    public static DateTimeOffset Ceiling(DateTimeOffset instant, string bucket)
    {
        var floor = Floor(instant, bucket);
        return floor == instant.ToUniversalTime() ? floor : floor.Add(bucket == Day ? TimeSpan.FromDays(1) : TimeSpan.FromHours(1));
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"[{From:O}, {To:O}) per {Bucket}");
}
