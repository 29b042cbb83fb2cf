namespace Analytics.Triage;

/// <summary>
/// A cluster's triage state, folded from its stream (Marten aggregates it live in FetchForWriting). The decisions
/// are pure: state and command in, event out; the time is passed in.
/// </summary>
public sealed record ClusterTriage(
    Guid Id, ClusterState State, string? Assignee, Severity? Severity, TriageCategory? Category, string? FixReference, int SizeAtResolution)
{
    public const string SystemActor = "system";

    public static ClusterTriage Create(ClusterOpened opened) => new(opened.ClusterId, ClusterState.Open, null, null, null, null, 0);

    public ClusterTriage Apply(ClusterAssigned e) => this with { Assignee = e.Assignee };

    public ClusterTriage Apply(ClusterLabeled e) => this with { Severity = e.Severity, Category = e.Category };

    public ClusterTriage Apply(ClusterNoteAdded e) => this;

    public ClusterTriage Apply(ClusterResolved e) => this with { State = ClusterState.Resolved, FixReference = e.FixReference, SizeAtResolution = e.SizeAtResolution };

    public ClusterTriage Apply(ClusterReopened e) => this with { State = ClusterState.Open };

    /// <summary>
    /// The reopen rule: a resolved cluster that has received at least <paramref name="threshold"/> items since it was
    /// resolved is open again. Null when the rule does not fire.
    /// </summary>
    public static ClusterReopened? Reopen(ClusterState state, int sizeAtResolution, int size, int threshold, Guid clusterId, DateTimeOffset now) =>
        state == ClusterState.Resolved && size - sizeAtResolution >= threshold
            ? new ClusterReopened(clusterId, size - sizeAtResolution, SystemActor, now)
            : null;
}
