namespace Analytics.Alerting;

/// <summary>Configuration section "Alerts" (worker).</summary>
public sealed class AlertingOptions
{
    /// <summary>Runs the detector and the delivery in this worker (one worker at a time detects: leader lock).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Seconds between looks at the counters.</summary>
    public double IntervalSeconds { get; set; } = 60;

    /// <summary>Seconds between polls of the delivery outbox when it is empty.</summary>
    public double DeliveryIntervalSeconds { get; set; } = 2;

    /// <summary>Longest wait between two delivery attempts of one notification (backoff doubles up to it).</summary>
    public double MaxRetryDelaySeconds { get; set; } = 300;

    /// <summary>
    /// Attempts of one delivery before it is dead (kept with its error, listed by the API, counted in the metrics). With
    /// the default backoff, 20 attempts span about an hour.
    /// </summary>
    public int MaxDeliveryAttempts { get; set; } = 20;

    /// <summary>Longest time one attempt may take (a webhook's answer, a publish to the exchange) before it counts as failed.</summary>
    public double DeliveryTimeoutSeconds { get; set; } = 10;

    /// <summary>
    /// How long a claimed delivery stays with its sender; when a sender dies, the row is claimed again after this. Must
    /// exceed <see cref="DeliveryTimeoutSeconds"/>.
    /// </summary>
    public double DeliveryLeaseSeconds { get; set; } = 60;

    /// <summary>Base URL of the API, for the link in notifications.</summary>
    public string ApiBaseUrl { get; set; } = "http://127.0.0.1:5080";

    public RegressionDetectorOptions Detector { get; set; } = new();

    public List<AlertWebhook> Webhooks { get; set; } = [];
}

/// <summary>A receiver of alert notifications (Slack-compatible JSON: <c>text</c>, plus <c>alert</c>).</summary>
public sealed class AlertWebhook
{
    public string Name { get; set; } = "";

    public string Url { get; set; } = "";
}
