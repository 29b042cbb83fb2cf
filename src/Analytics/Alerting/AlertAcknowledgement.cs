using System.Collections.Immutable;
using Analytics.Contracts;
using Analytics.Decisions;

namespace Analytics.Alerting;

/// <summary>A triager asks to take alert <paramref name="AlertId"/> on, with an optional note.</summary>
public sealed record AcknowledgeAlert(Guid AlertId, string Actor, string? Note);

/// <summary>One alert of a cell's stream as far as acknowledging it goes: resolved or not, acknowledged by whom and when.</summary>
public sealed record AlertState(Guid AlertId, bool Resolved, string? AcknowledgedBy, DateTimeOffset? AcknowledgedAt);

/// <summary>
/// The alerts of one cell, folded from the cell's alert stream (<see cref="RegressionWatch.StreamIdOf"/>; Marten aggregates
/// it live in FetchForWriting), and the pure decision of an acknowledgement on it.
/// </summary>
public sealed record CellAlerts(ImmutableDictionary<Guid, AlertState> Alerts)
{
    /// <summary>The longest acknowledgement note.</summary>
    public const int MaxNoteLength = 2000;

    public static CellAlerts Create(RegressionDetected detected) => new CellAlerts(ImmutableDictionary<Guid, AlertState>.Empty).Apply(detected);

    public CellAlerts Apply(RegressionDetected e) => new(Alerts.SetItem(e.AlertId, new AlertState(e.AlertId, false, null, null)));

    public CellAlerts Apply(RegressionResolved e) => Alerts.TryGetValue(e.AlertId, out var alert)
        ? new(Alerts.SetItem(e.AlertId, alert with { Resolved = true }))
        : this;

    public CellAlerts Apply(RegressionAcknowledged e) => Alerts.TryGetValue(e.AlertId, out var alert)
        ? new(Alerts.SetItem(e.AlertId, alert with { AcknowledgedBy = e.Actor, AcknowledgedAt = e.AcknowledgedAt }))
        : this;

    /// <summary>
    /// Decides an acknowledgement. <paramref name="alert"/> is the alert's state in its cell's stream, null when there is
    /// no such alert. The note is checked first (a note too long, or not valid text, is refused whether the alert exists or not); an alert is
    /// acknowledged once, active or resolved.
    /// </summary>
    public static Decision Decide(AlertState? alert, AcknowledgeAlert command, DateTimeOffset now)
    {
        if (command.Note is { Length: > MaxNoteLength })
        {
            return Decision.Reject(Rejection.InvalidCommand, "Note too long", $"note must be at most {MaxNoteLength} characters.");
        }

        if (command.Note is not null && TextRules.CheckFreeText(command.Note) is { } problem)
        {
            return Decision.Reject(Rejection.InvalidCommand, "Note is not valid text", TextRules.Explain("note", problem));
        }

        if (alert is null)
        {
            return Decision.Reject(Rejection.NotFound, "Unknown alert", $"There is no alert {command.AlertId}; GET /api/alerts lists them.");
        }

        if (alert.AcknowledgedAt is { } at)
        {
            return Decision.Reject(Rejection.Conflict, "Already acknowledged",
                $"Alert {alert.AlertId} was acknowledged by {alert.AcknowledgedBy} at {at.ToUniversalTime():O}.");
        }

        return Decision.Accept(new RegressionAcknowledged(alert.AlertId, command.Actor, now, command.Note));
    }
}
