namespace Analytics.Publisher;

public sealed class FeedbackPublisherOptions
{
    /// <summary>The ingestion exchange (durable fanout) as a MassTransit address.</summary>
    public Uri Destination { get; set; } = new("exchange:analytics.ingest?type=fanout");

    /// <summary>Events per message; 1 sends every event on its own.</summary>
    public int MaxBatchSize { get; set; } = 100;

    /// <summary>A partial batch is sent after this long.</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Events buffered in memory before PublishAsync waits (back-pressure).</summary>
    public int Capacity { get; set; } = 20_000;

    /// <summary>Messages in flight (awaiting the broker's confirm) at once.</summary>
    public int MaxInFlightMessages { get; set; } = 8;
}
