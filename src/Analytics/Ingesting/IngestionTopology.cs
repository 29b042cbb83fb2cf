namespace Analytics.Ingesting;

/// <summary>The broker names producers and operators use (docs/contracts.md).</summary>
public static class IngestionTopology
{
    /// <summary>Durable fanout exchange every producer publishes to.</summary>
    public const string Exchange = "analytics.ingest";

    /// <summary>Durable quorum queue the workers consume (competing consumers).</summary>
    public const string Queue = "analytics-ingest";

    /// <summary>Events refused by validation, one per message, with x-refusal-* headers.</summary>
    public const string RefusedQueue = "analytics-ingest-refused";

    /// <summary>MassTransit's error queue: messages that could not be read at all, or kept failing.</summary>
    public const string ErrorQueue = "analytics-ingest_error";

    public const string RefusalCodeHeader = "x-refusal-code";
    public const string RefusalReasonHeader = "x-refusal-reason";
    public const string EventIdHeader = "x-event-id";
    public const string EventTypeHeader = "x-event-type";
    public const string RefusedAtHeader = "x-refused-at";
    public const string OriginalMessageIdHeader = "x-original-message-id";

    /// <summary>Which copy the refused queue holds: <c>redacted</c> (the default, <see cref="RefusedCopy"/>) or <c>original</c>.</summary>
    public const string RefusedCopyHeader = "x-refused-copy";

    /// <summary>On an <c>event_id_conflict</c>: the payload hash of the refused event and of the one stored under its eventId.</summary>
    public const string PayloadHashHeader = "x-payload-sha256";
    public const string StoredPayloadHashHeader = "x-stored-payload-sha256";
}
