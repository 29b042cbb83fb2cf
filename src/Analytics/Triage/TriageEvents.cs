namespace Analytics.Triage;

// The events of a cluster's triage stream (one stream per cluster, stream id = cluster id). Each carries who
// did it and when; the clusterer records its own actions as the actor "system".

/// <summary>The clusterer saw thumbs-down feedback that fitted no existing cluster of its group.</summary>
public sealed record ClusterOpened(
    Guid ClusterId, string ModelId, string Capability, string Reason, string SuggestedLabel, string Actor, DateTimeOffset At);

public sealed record ClusterAssigned(Guid ClusterId, string Assignee, string Actor, DateTimeOffset At);

public sealed record ClusterLabeled(Guid ClusterId, Severity Severity, TriageCategory Category, string Actor, DateTimeOffset At);

public sealed record ClusterNoteAdded(Guid ClusterId, string Note, string Actor, DateTimeOffset At);

public sealed record ClusterResolved(Guid ClusterId, string FixReference, int SizeAtResolution, string Actor, DateTimeOffset At);

/// <summary>A resolved cluster received <paramref name="NewItems"/> items after its resolution (the clusterer reopens it).</summary>
public sealed record ClusterReopened(Guid ClusterId, int NewItems, string Actor, DateTimeOffset At);

/// <summary>S0 is the most severe.</summary>
public enum Severity
{
    S0,
    S1,
    S2,
    S3,
}

public enum TriageCategory
{
    Safety,
    Quality,
    Other,
}

public enum ClusterState
{
    Open,
    Resolved,
}
