using System.Diagnostics.Metrics;

namespace Analytics.Ingesting;

/// <summary>Counters and histograms of the ingestion path (meter "Analytics.Ingestion").</summary>
public sealed class IngestionMetrics : IDisposable
{
    public const string MeterName = "Analytics.Ingestion";
    private readonly Meter _meter;
    private readonly Counter<long> _stored;
    private readonly Counter<long> _bulkStored;
    private readonly Counter<long> _duplicates;
    private readonly Counter<long> _refused;
    private readonly Counter<long> _redacted;
    private readonly Histogram<int> _batchSize;
    private readonly Histogram<double> _appendSeconds;
    private readonly Histogram<int> _appendMessages;

    public IngestionMetrics(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create(MeterName);
        _stored = _meter.CreateCounter<long>("analytics.ingest.events.stored", "{event}", "Events appended to the event store");
        _bulkStored = _meter.CreateCounter<long>("analytics.ingest.events.bulk_stored", "{event}",
            "Events appended with Marten's bulk event append (conversations whose stream did not exist yet); included in stored");
        _duplicates = _meter.CreateCounter<long>("analytics.ingest.events.duplicate", "{event}", "Events skipped because their eventId was already stored");
        _refused = _meter.CreateCounter<long>("analytics.ingest.events.refused", "{event}", "Events or messages refused, by reason code");
        _redacted = _meter.CreateCounter<long>("analytics.ingest.pii.redacted", "{item}", "Personal data items replaced by placeholders, by kind");
        _batchSize = _meter.CreateHistogram<int>("analytics.ingest.batch.size", "{event}", "Events per append (one group commit)");
        _appendSeconds = _meter.CreateHistogram<double>("analytics.ingest.append.duration", "s", "Time to append and commit one group");
        _appendMessages = _meter.CreateHistogram<int>("analytics.ingest.append.messages", "{message}", "Messages per append (one group commit)");
    }

    public void Stored(int count) => _stored.Add(count);

    public void BulkStored(int count) => _bulkStored.Add(count);

    public void Duplicates(int count) => _duplicates.Add(count);

    public void Refused(string code) => _refused.Add(1, new KeyValuePair<string, object?>("reason", code));

    public void Redacted(string kind, int count) =>
        _redacted.Add(count, new KeyValuePair<string, object?>("kind", kind.Trim('[', ']').ToLowerInvariant()));

    public void Appended(int batchSize, int messages, TimeSpan elapsed)
    {
        _batchSize.Record(batchSize);
        _appendMessages.Record(messages);
        _appendSeconds.Record(elapsed.TotalSeconds);
    }

    public void Dispose() => _meter.Dispose();
}
