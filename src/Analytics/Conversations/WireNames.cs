using Analytics.Contracts;

namespace Analytics.Conversations;

/// <summary>
/// The wire names of the contract enums (docs/contracts.md) as the read models store them: the satisfaction tables,
/// the rebuild's SQL and the triage items all write these, so the mapping lives here, beside the events.
/// </summary>
public static class WireNames
{
    public static string Wire(Rating rating) => rating.ToString().ToLowerInvariant();

    public static string Wire(Preference preference) => preference == Preference.BothBad ? "both_bad" : preference.ToString().ToLowerInvariant();

    public static string[] Wire(IEnumerable<FeedbackReason> reasons) =>
        reasons.Select(r => System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(r.ToString())).ToArray();
}
