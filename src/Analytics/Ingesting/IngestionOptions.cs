namespace Analytics.Ingesting;

/// <summary>Tuning of the ingestion endpoint (configuration section "Ingestion").</summary>
public sealed class IngestionOptions
{
    /// <summary>Messages per batch handed to one append transaction.</summary>
    public int MessageLimit { get; set; } = 100;

    /// <summary>How long a partial batch waits for more messages.</summary>
    public int TimeLimitMs { get; set; } = 50;

    /// <summary>
    /// Batches handled concurrently by one worker process: they are read and validated in parallel and
    /// appended one after the other (one writer per process), so CPU work overlaps the database round trip.
    /// </summary>
    public int ConcurrencyLimit { get; set; } = 2;

    public int PrefetchCount { get; set; } = 400;

    /// <summary>
    /// Events of not yet existing conversation streams in one batch from which they are written with Marten's
    /// bulk event append (binary COPY) rather than quick appends; 0 turns the bulk path off.
    /// </summary>
    public int BulkAppendMinEvents { get; set; } = 20;
}
