namespace Analytics.Ingesting;

/// <summary>Tuning of the ingestion endpoint (configuration section "Ingestion").</summary>
public sealed class IngestionOptions
{
    /// <summary>Messages per batch handed to one append transaction.</summary>
    public int MessageLimit { get; set; } = 100;

    /// <summary>How long a partial batch waits for more messages.</summary>
    public int TimeLimitMs { get; set; } = 50;

    /// <summary>Batches appended concurrently by one worker process.</summary>
    public int ConcurrencyLimit { get; set; } = 4;

    public int PrefetchCount { get; set; } = 1000;
}
