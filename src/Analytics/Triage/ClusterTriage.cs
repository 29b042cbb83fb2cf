using Analytics.Contracts;
using Analytics.Decisions;

namespace Analytics.Triage;

/// <summary>
/// What a cluster's triage stream is asked to do. The triagers' actions carry the fields of their request as sent
/// (validated by <see cref="ClusterTriage.Decide"/>) and who asks; <see cref="Reopen"/> is the clusterer's.
/// </summary>
public abstract record TriageCommand
{
    private TriageCommand()
    {
    }

    public sealed record Assign(string? Assignee, string Actor) : TriageCommand;

    /// <summary><paramref name="Severity"/> S0-S3 (exact case), <paramref name="Category"/> safety, quality or other (any case).</summary>
    public sealed record Label(string? Severity, string? Category, string Actor) : TriageCommand;

    public sealed record AddNote(string? Note, string Actor) : TriageCommand;

    /// <summary><paramref name="Size"/> is the cluster's size now (the clusterer's count), kept as the size at resolution.</summary>
    public sealed record Resolve(string? FixReference, int Size, string Actor) : TriageCommand;

    /// <summary>The clusterer saw the cluster grow to <paramref name="Size"/>; it reopens after <paramref name="Threshold"/> new items.</summary>
    public sealed record Reopen(int Size, int Threshold) : TriageCommand;
}

/// <summary>
/// A cluster's triage state, folded from its stream (Marten aggregates it live in FetchForWriting), and the pure
/// decision of every triage action on it: state, command and time in, an event or a rejection out.
/// </summary>
public sealed record ClusterTriage(
    Guid Id, ClusterState State, string? Assignee, Severity? Severity, TriageCategory? Category, string? FixReference, int SizeAtResolution)
{
    public const string SystemActor = "system";

    /// <summary>The longest assignee, note or fix reference a triager may send.</summary>
    public const int MaxTextLength = 2000;

    public static ClusterTriage Create(ClusterOpened opened) => new(opened.ClusterId, ClusterState.Open, null, null, null, null, 0);

    public ClusterTriage Apply(ClusterAssigned e) => this with { Assignee = e.Assignee };

    public ClusterTriage Apply(ClusterLabeled e) => this with { Severity = e.Severity, Category = e.Category };

    public ClusterTriage Apply(ClusterNoteAdded e) => this;

    public ClusterTriage Apply(ClusterResolved e) => this with { State = ClusterState.Resolved, FixReference = e.FixReference, SizeAtResolution = e.SizeAtResolution };

    public ClusterTriage Apply(ClusterReopened e) => this with { State = ClusterState.Open };

    /// <summary>
    /// Decides a triage action on the cluster in <paramref name="state"/>. Text fields are required, at most
    /// <see cref="MaxTextLength"/> characters, and stored trimmed. A resolved cluster cannot be resolved again. The reopen
    /// rule: a resolved cluster that has received at least the threshold of items since its resolution is open again.
    /// Assigning, labelling and notes are allowed in every state.
    /// </summary>
    public static Decision Decide(ClusterTriage state, TriageCommand command, DateTimeOffset now) => command switch
    {
        TriageCommand.Assign assign => Required(assign.Assignee, "assignee")
            ?? Decision.Accept(new ClusterAssigned(state.Id, assign.Assignee!.Trim(), assign.Actor, now)),
        TriageCommand.Label label => DecideLabel(state, label, now),
        TriageCommand.AddNote note => Required(note.Note, "note")
            ?? Decision.Accept(new ClusterNoteAdded(state.Id, note.Note!.Trim(), note.Actor, now)),
        TriageCommand.Resolve resolve => Required(resolve.FixReference, "fixReference")
            ?? (state.State == ClusterState.Resolved
                ? Decision.Reject(Rejection.Conflict, "Already resolved", $"Cluster {state.Id} is resolved ({state.FixReference}).")
                : Decision.Accept(new ClusterResolved(state.Id, resolve.FixReference!.Trim(), resolve.Size, resolve.Actor, now))),
        TriageCommand.Reopen reopen => DecideReopen(state, reopen, now),
        _ => throw new ArgumentOutOfRangeException(nameof(command), command.GetType().Name, "Not a triage command."),
    };

    private static Decision DecideLabel(ClusterTriage state, TriageCommand.Label label, DateTimeOffset now)
    {
        // Enum.TryParse also takes a number ("1" would be S1, "2" quality): the guards keep the names the only spelling.
        if (!Enum.TryParse<Severity>(label.Severity, ignoreCase: false, out var severity) || !Enum.IsDefined(severity)
            || !label.Severity!.Any(char.IsLetter))
        {
            return Decision.Reject(Rejection.InvalidCommand, "Unknown severity", $"severity must be one of S0, S1, S2, S3, not '{label.Severity}'.");
        }

        if (!Enum.TryParse<TriageCategory>(label.Category, ignoreCase: true, out var category) || !Enum.IsDefined(category) || label.Category!.Any(char.IsDigit))
        {
            return Decision.Reject(Rejection.InvalidCommand, "Unknown category", $"category must be one of safety, quality, other, not '{label.Category}'.");
        }

        return Decision.Accept(new ClusterLabeled(state.Id, severity, category, label.Actor, now));
    }

    private static Decision DecideReopen(ClusterTriage state, TriageCommand.Reopen reopen, DateTimeOffset now)
    {
        if (state.State != ClusterState.Resolved)
        {
            return Decision.Reject(Rejection.Conflict, "Not resolved", $"Cluster {state.Id} is {TriageTables.Wire(state.State)}.");
        }

        var newItems = reopen.Size - state.SizeAtResolution;
        return newItems >= reopen.Threshold
            ? Decision.Accept(new ClusterReopened(state.Id, newItems, SystemActor, now))
            : Decision.Reject(Rejection.Conflict, "Too few new items",
                $"Cluster {state.Id} has {newItems} items since its resolution; it reopens at {reopen.Threshold}.");
    }

    private static Decision? Required(string? value, string name) =>
        string.IsNullOrWhiteSpace(value) ? Decision.Reject(Rejection.InvalidCommand, $"{name} is required", $"Give a non-empty {name}.")
        : value.Length > MaxTextLength ? Decision.Reject(Rejection.InvalidCommand, $"{name} too long", $"{name} may be at most {MaxTextLength} characters.")
        : TextRules.CheckFreeText(value) is { } problem ? Decision.Reject(Rejection.InvalidCommand, $"{name} is not valid text", TextRules.Explain(name, problem))
        : null;
}
