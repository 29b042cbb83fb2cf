namespace Analytics.Ingesting;

/// <summary>Tuning of the ingestion endpoint (configuration section "Ingestion"; docs/operations.md).</summary>
public sealed class IngestionOptions
{
    /// <summary>
    /// Messages consumed at once by one worker process: each is read and validated on its own and then waits for the
    /// <see cref="GroupCommitWriter"/>, which appends everything waiting in one go. The larger, the larger the appends
    /// of one-event messages can grow under load.
    /// </summary>
    public int ConcurrentMessageLimit { get; set; } = 500;

    /// <summary>Unacknowledged messages the broker may hand this process (at least <see cref="ConcurrentMessageLimit"/>).</summary>
    public int PrefetchCount { get; set; } = 500;

    /// <summary>Messages merged into one append at most.</summary>
    public int MessageLimit { get; set; } = 1000;

    /// <summary>
    /// How long the writer, idle until a message arrives, waits for more before it appends: fewer, larger appends
    /// of paced traffic for a few milliseconds of latency; a backlog never waits.
    /// </summary>
    public int LingerMs { get; set; }

    /// <summary>Events merged into one append at most (a single message larger than this is appended alone).</summary>
    public int MaxEventsPerAppend { get; set; } = 10_000;

    /// <summary>
    /// Bytes of message bodies one process holds at once while it parses, validates and appends them
    /// (<see cref="IngestionRoomFilter"/>): bounds the worker's memory whatever the size of the messages.
    /// </summary>
    public int MaxPendingBytes { get; set; } = 8 * 1024 * 1024;

    /// <summary>
    /// Whether the refused queue keeps each refused event as it was published. Off by default: it keeps the
    /// <see cref="RefusedCopy"/> (personal data replaced, user ids pseudonymized) with the reason headers, so a refused
    /// comment is not kept with what a stored one would lose. Turn it on only where the refused queue may hold personal
    /// data (for example to debug a producer for a while); docs/security.md, "Personal data".
    /// </summary>
    public bool RefusedQueueKeepsOriginal { get; set; }

    /// <summary>
    /// Events of not yet existing conversation streams in one append from which they are written with Marten's
    /// bulk event append (binary COPY) rather than quick appends; 0 turns the bulk path off.
    /// </summary>
    public int BulkAppendMinEvents { get; set; } = 20;

    /// <summary>
    /// How far an event's occurredAt may lie after the time the worker received it (producer clocks run a little ahead);
    /// later is refused as invalid_field. Minutes, not hours: an accepted future time stays in the views as it was sent.
    /// </summary>
    public TimeSpan MaxFutureSkew { get; set; } = DefaultMaxFutureSkew;

    public static readonly TimeSpan DefaultMaxFutureSkew = TimeSpan.FromMinutes(5);
}
