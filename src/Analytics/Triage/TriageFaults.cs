using Analytics.Conversations;
using JasperFx.Events;
using Microsoft.Extensions.Options;

namespace Analytics.Triage;

/// <summary>
/// Fault hook of the triage clusterer for the tests (configuration section "Faults", like the ingestion's hooks in
/// <c>IngestionFaults</c>; off by default): <c>Faults:ThrowInClustererOnEventId=guid</c> makes the clusterer throw on
/// the thumbs-down with that eventId, as content that cannot be clustered would. No content is known to make it throw.
/// </summary>
public sealed class TriageFaultOptions
{
    public Guid? ThrowInClustererOnEventId { get; set; }
}

public sealed class TriageFaults(IOptions<TriageFaultOptions> options)
{
    private readonly Guid? _poison = options.Value.ThrowInClustererOnEventId;

    public void ThrowIfPoisoned(IEnumerable<IEvent<ResponseRatedRecorded>> downs)
    {
        if (_poison is { } poison && downs.Any(d => d.Data.EventId == poison))
        {
            throw new ClusteringFaultException($"Fault injection: thumbs-down {poison} is configured to fail in the clusterer (Faults:ThrowInClustererOnEventId)");
        }
    }
}

/// <summary>Thrown by the <c>Faults:ThrowInClustererOnEventId</c> hook.</summary>
public sealed class ClusteringFaultException(string message) : Exception(message);
