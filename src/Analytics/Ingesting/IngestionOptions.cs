namespace Analytics.Ingesting;

/// <summary>Tuning of the ingestion endpoint (configuration section "Ingestion").</summary>
public sealed class IngestionOptions
{
    /// <summary>Messages per batch handed to one append transaction.</summary>
    public int MessageLimit { get; set; } = 100;

    /// <summary>How long a partial batch waits for more messages.</summary>
    public int TimeLimitMs { get; set; } = 50;

    /// <summary>
    /// Batches appended concurrently by one worker process. Above 1, concurrent batches of one process
    /// collide on the same conversation streams (23505) and retry; scale out with more processes instead.
    /// </summary>
    public int ConcurrencyLimit { get; set; } = 1;

    public int PrefetchCount { get; set; } = 1000;
}
