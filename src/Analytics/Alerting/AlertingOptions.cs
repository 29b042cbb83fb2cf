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
