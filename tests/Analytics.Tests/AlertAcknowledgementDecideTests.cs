using Analytics.Alerting;
using Analytics.Decisions;

namespace Analytics.Tests;

/// <summary>
/// Every branch of <see cref="CellAlerts.Decide"/>, as given events (the cell's alert stream) → when an acknowledgement →
/// then the event to append or the rejection.
/// </summary>
public sealed class AlertAcknowledgementDecideTests
{
    private const string Triager = "api-key:triager";
    private static readonly DateTimeOffset Now = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);
    private static readonly CellKey Cell = new("atlas", "2.1", "browsing");
    private static readonly Guid AlertId = Guid.Parse("5d9c1c0e-6a3b-4f57-9a8e-2b1d7c4e0f11");
    private static readonly Guid EarlierAlertId = Guid.Parse("a7e0b3f4-1c2d-4e5f-8a9b-0c1d2e3f4a5b");

    private static readonly RegressionEvidence Evidence = new(BaselineKinds.PreviousVersion, "2.0", 5000, 400, 0.08, 0.073, 0.088,
        Now.AddHours(-6), Now, 600, 120, 0.2, 0.17, 0.23, 12.5, 8.0, 0.05, 1.3, 1e-6);

    private static RegressionDetected Detected(Guid alertId) => new(alertId, Cell, Now.AddHours(-1), Evidence);

    /// <summary>The alert's state folded from its cell's stream, as Marten's live aggregation folds it; null when the stream does not hold it.</summary>
    private static AlertState? Given(Guid alertId, params object[] events) =>
        events.Skip(1).Aggregate(CellAlerts.Create((RegressionDetected)events[0]), (cell, e) => e switch
        {
            RegressionDetected d => cell.Apply(d),
            RegressionResolved r => cell.Apply(r),
            RegressionAcknowledged a => cell.Apply(a),
            _ => throw new ArgumentException(e.GetType().Name),
        }).Alerts.GetValueOrDefault(alertId);

    private static Decision When(AlertState? alert, string? note = "looking at it") =>
        CellAlerts.Decide(alert, new AcknowledgeAlert(AlertId, Triager, note), Now);

    [Fact]
    public void An_active_alert_is_acknowledged_with_who_when_and_the_note()
    {
        Assert.Equal(Decision.Accept(new RegressionAcknowledged(AlertId, Triager, Now, "looking at it")), When(Given(AlertId, Detected(AlertId))));
    }

    [Fact]
    public void A_resolved_alert_can_still_be_acknowledged_and_the_note_is_optional()
    {
        var resolved = new RegressionResolved(AlertId, Cell, Now.AddMinutes(-5), Evidence);
        Assert.Equal(Decision.Accept(new RegressionAcknowledged(AlertId, Triager, Now, null)), When(Given(AlertId, Detected(AlertId), resolved), note: null));
    }

    [Fact]
    public void An_acknowledged_alert_is_a_conflict_that_names_who_acknowledged_it_and_when()
    {
        var acknowledgedAt = Now.AddMinutes(-10);
        var decision = When(Given(AlertId, Detected(AlertId), new RegressionAcknowledged(AlertId, "api-key:dana", acknowledgedAt, null)));

        var rejected = Assert.IsType<Decision.Rejected>(decision);
        Assert.Equal((Rejection.Conflict, "Already acknowledged", $"Alert {AlertId} was acknowledged by api-key:dana at {acknowledgedAt:O}."),
            (rejected.Reason, rejected.Title, rejected.Detail));
    }

    [Fact]
    public void Acknowledging_an_earlier_alert_of_the_same_cell_leaves_the_new_one_open_to_acknowledge()
    {
        var state = Given(AlertId, Detected(EarlierAlertId), new RegressionAcknowledged(EarlierAlertId, "api-key:dana", Now.AddDays(-1), null),
            new RegressionResolved(EarlierAlertId, Cell, Now.AddHours(-20), Evidence), Detected(AlertId));

        Assert.Equal(new AlertState(AlertId, Resolved: false, AcknowledgedBy: null, AcknowledgedAt: null), state);
        Assert.IsType<Decision.Accepted>(When(state));
    }

    [Fact]
    public void An_alert_the_stream_does_not_hold_is_not_found()
    {
        var rejected = Assert.IsType<Decision.Rejected>(When(Given(AlertId, Detected(EarlierAlertId))));
        Assert.Equal((Rejection.NotFound, "Unknown alert"), (rejected.Reason, rejected.Title));
        Assert.Equal(Rejection.NotFound, Assert.IsType<Decision.Rejected>(When(alert: null)).Reason);
    }

    [Fact]
    public void A_note_PostgreSQL_cannot_hold_is_invalid_even_for_an_unknown_alert()
    {
        foreach (var alert in new[] { Given(AlertId, Detected(AlertId)), null })
        {
            var rejected = Assert.IsType<Decision.Rejected>(When(alert, "checked\0"));
            Assert.Equal((Rejection.InvalidCommand, "Note is not valid text"), (rejected.Reason, rejected.Title));
            Assert.Contains("U+0000 (NUL) at index 7", rejected.Detail, StringComparison.Ordinal);
        }

        Assert.IsType<Decision.Accepted>(When(Given(AlertId, Detected(AlertId)), "checked 👍\tsee PR-12"));
    }

    [Fact]
    public void A_note_over_2000_characters_is_invalid_even_for_an_unknown_alert()
    {
        Assert.IsType<Decision.Accepted>(When(Given(AlertId, Detected(AlertId)), new string('n', CellAlerts.MaxNoteLength)));
        foreach (var alert in new[] { Given(AlertId, Detected(AlertId)), null })
        {
            var rejected = Assert.IsType<Decision.Rejected>(When(alert, new string('n', CellAlerts.MaxNoteLength + 1)));
            Assert.Equal((Rejection.InvalidCommand, "Note too long"), (rejected.Reason, rejected.Title));
        }
    }
}
