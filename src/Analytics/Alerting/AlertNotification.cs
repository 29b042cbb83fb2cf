namespace Analytics.Alerting;

/// <summary>
/// The alert as other services receive it: on the RabbitMQ topic exchange <c>analytics.alerts</c> (routing keys
/// <c>regression.detected</c> and <c>regression.resolved</c>, plain JSON) and inside the webhook body. Documented in
/// docs/contracts.md.
/// </summary>
public sealed record AlertNotification(
    string Type,
    Guid AlertId,
    DateTimeOffset OccurredAt,
    string ModelId,
    string ModelVersion,
    string Capability,
    string Summary,
    RegressionEvidence Evidence,
    string Link)
{
    public const string Exchange = "analytics.alerts";
    public const string DetectedType = "regression.detected";
    public const string ResolvedType = "regression.resolved";

    public static AlertNotification From(AlertTransition transition, DateTimeOffset at, string apiBaseUrl)
    {
        var detected = transition is AlertRaised;
        var e = transition.Evidence;
        var cell = transition.Cell;
        var summary = detected
            ? $"Regression: {cell} thumbs-down rate {e.WindowDownRate:P1} (95% CI {e.WindowLower:P1}–{e.WindowUpper:P1}, n={e.WindowRated}) " +
              $"vs baseline {e.BaselineDownRate:P1} ({BaselineText(e)}, n={e.BaselineRated})"
            : $"Resolved: {cell} thumbs-down rate back to {e.WindowDownRate:P1} (n={e.WindowRated}) vs baseline {e.BaselineDownRate:P1}";
        return new AlertNotification(detected ? DetectedType : ResolvedType, transition.AlertId, at, cell.ModelId, cell.ModelVersion,
            cell.Capability, summary, e, $"{apiBaseUrl.TrimEnd('/')}/api/alerts/{transition.AlertId}");
    }

    private static string BaselineText(RegressionEvidence e) =>
        e.BaselineKind == BaselineKinds.PreviousVersion ? $"previous version {e.BaselineVersion}" : "its own trailing week";
}

/// <summary>
/// The body posted to webhooks: <c>text</c> is what Slack-compatible receivers (Slack incoming webhooks,
/// Mattermost, Rocket.Chat) show; <c>alert</c> carries the whole notification for programs.
/// </summary>
public sealed record WebhookBody(string Text, AlertNotification Alert);
