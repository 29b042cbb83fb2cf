using System.Text.Json;
using Analytics.Access;
using Analytics.Decisions;
using JasperFx;
using JasperFx.Events;
using Marten;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Npgsql;

namespace Analytics.Alerting;

/// <summary>An alert as the API returns it.</summary>
public sealed record AlertView(
    Guid AlertId,
    string ModelId,
    string ModelVersion,
    string Capability,
    string State,
    DateTimeOffset DetectedAt,
    DateTimeOffset? ResolvedAt,
    DateTimeOffset? AcknowledgedAt,
    string? AcknowledgedBy,
    string? AcknowledgementNote,
    RegressionEvidence Evidence,
    RegressionEvidence? ResolvedEvidence);

/// <summary>One entry of an alert's audit trail: the stored event, its version in the cell's stream, and when.</summary>
public sealed record AlertHistoryEntry(long Version, string Type, DateTimeOffset Timestamp, object Data);

public sealed record AlertDetail(AlertView Alert, IReadOnlyList<AlertHistoryEntry> History);

public sealed record AcknowledgeRequest(string? Note);

public static class AlertEndpoints
{
    public static IEndpointRouteBuilder MapAlertEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/alerts").WithTags("Alerts");
        group.MapGet("/", List).RequireAuthorization(ApiKeyAuthentication.Roles.Viewer)
            .WithSummary("Regression alerts, newest first: state=active|resolved|all (default all), optionally for one model and capability.");
        group.MapGet("/{alertId}", Get).RequireAuthorization(ApiKeyAuthentication.Roles.Viewer)
            .WithSummary("One alert with its evidence and its audit trail (detected, acknowledged, resolved).");
        group.MapPost("/{alertId}/acknowledge", Acknowledge).RequireAuthorization(ApiKeyAuthentication.Roles.Triager)
            .WithSummary("Acknowledge an alert (triager role). Stored as a RegressionAcknowledged event; 409 if already acknowledged.");
        return app;
    }

    private static async Task<Results<Ok<IReadOnlyList<AlertView>>, ProblemHttpResult>> List(
        NpgsqlDataSource dataSource, CancellationToken ct, string state = "all", string? model = null, string? capability = null, int limit = 100)
    {
        if (state is not ("active" or "resolved" or "all"))
        {
            return BadRequest("Unknown state", $"state must be active, resolved or all, not '{state}'.");
        }

        if (limit is < 1 or > 1000)
        {
            return BadRequest("Bad limit", "limit must be between 1 and 1000.");
        }

        return TypedResults.Ok(await QueryAsync(dataSource, "($1 = 'all' or state = $1) and ($2::text is null or model_id = $2) and ($3::text is null or capability = $3)",
            [state, (object?)model ?? DBNull.Value, (object?)capability ?? DBNull.Value], limit, ct));
    }

    private static async Task<Results<Ok<AlertDetail>, NotFound<ProblemDetails>>> Get(
        Guid alertId, NpgsqlDataSource dataSource, IQuerySession session, CancellationToken ct)
    {
        var alert = (await QueryAsync(dataSource, "alert_id = $1", [alertId], 1, ct)).FirstOrDefault();
        if (alert is null)
        {
            return NotFound(alertId);
        }

        return TypedResults.Ok(new AlertDetail(alert, await HistoryAsync(session, alert, ct)));
    }

    /// <summary>
    /// Acknowledges an alert: its state is folded from its cell's alert stream (found through the alert's row), decided by
    /// <see cref="CellAlerts.Decide"/>, and the event appended with optimistic concurrency on the stream. When the stream
    /// moved in between (the detector, or another triager), the stream is read again: if the alert was acknowledged
    /// meanwhile that is the answer, else a 409 to retry.
    /// </summary>
    private static async Task<Results<Ok<AlertDetail>, NotFound<ProblemDetails>, Conflict<ProblemDetails>, ProblemHttpResult>> Acknowledge(
        Guid alertId, AcknowledgeRequest? request, HttpContext http, NpgsqlDataSource dataSource, IDocumentSession session,
        TimeProvider time, CancellationToken ct)
    {
        var command = new AcknowledgeAlert(alertId, http.User.Identity?.Name ?? "unknown", request?.Note);
        var streamId = await StreamIdOfAsync(dataSource, alertId, ct);
        var stream = streamId is { } id ? await session.Events.FetchForWriting<CellAlerts>(id, ct) : null;
        var decision = CellAlerts.Decide(stream?.Aggregate?.Alerts.GetValueOrDefault(alertId), command, time.GetUtcNow());
        if (decision is not Decision.Accepted accepted)
        {
            return Problem((Decision.Rejected)decision);
        }

        stream!.AppendOne(accepted.Event);
        try
        {
            await session.SaveChangesAsync(ct);
        }
        catch (Exception ex) when (ex is ConcurrencyException or EventStreamUnexpectedMaxEventIdException)
        {
            var now = await session.Events.AggregateStreamAsync<CellAlerts>(streamId!.Value, token: ct);
            return CellAlerts.Decide(now?.Alerts.GetValueOrDefault(alertId), command, time.GetUtcNow()) is Decision.Rejected rejected
                ? Problem(rejected)
                : TypedResults.Conflict(new ProblemDetails
                {
                    Title = "Concurrent change",
                    Detail = "The alert changed while it was being acknowledged; read it again and retry.",
                    Status = StatusCodes.Status409Conflict,
                });
        }

        var acknowledged = (await QueryAsync(dataSource, "alert_id = $1", [alertId], 1, ct)).First();
        return TypedResults.Ok(new AlertDetail(acknowledged, await HistoryAsync(session, acknowledged, ct)));
    }

    /// <summary>The alert's cell stream, as its row records it; null for an unknown alert. Only to find the stream: the decision reads the stream.</summary>
    private static async Task<Guid?> StreamIdOfAsync(NpgsqlDataSource dataSource, Guid alertId, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand($"select stream_id from {AlertsProjection.Alerts} where alert_id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = alertId });
        return await command.ExecuteScalarAsync(ct) is Guid streamId ? streamId : null;
    }

    private static Results<Ok<AlertDetail>, NotFound<ProblemDetails>, Conflict<ProblemDetails>, ProblemHttpResult> Problem(Decision.Rejected rejected)
    {
        var problem = new ProblemDetails { Title = rejected.Title, Detail = rejected.Detail };
        switch (rejected.Reason)
        {
            case Rejection.InvalidCommand:
                return BadRequest(rejected.Title, rejected.Detail);
            case Rejection.NotFound:
                problem.Status = StatusCodes.Status404NotFound;
                return TypedResults.NotFound(problem);
            default:
                problem.Status = StatusCodes.Status409Conflict;
                return TypedResults.Conflict(problem);
        }
    }

    private static NotFound<ProblemDetails> NotFound(Guid alertId) => TypedResults.NotFound(new ProblemDetails
    {
        Title = "Unknown alert",
        Detail = $"There is no alert {alertId}; GET /api/alerts lists them.",
        Status = StatusCodes.Status404NotFound,
    });

    private static ProblemHttpResult BadRequest(string title, string detail) =>
        TypedResults.Problem(title: title, detail: detail, statusCode: StatusCodes.Status400BadRequest);

    private static async Task<IReadOnlyList<AlertHistoryEntry>> HistoryAsync(IQuerySession session, AlertView alert, CancellationToken ct)
    {
        var streamId = RegressionWatch.StreamIdOf(new CellKey(alert.ModelId, alert.ModelVersion, alert.Capability));
        var events = await session.Events.FetchStreamAsync(streamId, token: ct);
        return events
            .Where(e => e.Data switch
            {
                RegressionDetected d => d.AlertId == alert.AlertId,
                RegressionResolved r => r.AlertId == alert.AlertId,
                RegressionAcknowledged a => a.AlertId == alert.AlertId,
                _ => false,
            })
            .Select(e => new AlertHistoryEntry(e.Version, e.EventTypeName, e.Timestamp, e.Data))
            .ToList();
    }

    private static async Task<IReadOnlyList<AlertView>> QueryAsync(NpgsqlDataSource dataSource, string where, object[] parameters, int limit,
        CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            select alert_id, model_id, model_version, capability, state, detected_at, resolved_at, acknowledged_at, acknowledged_by,
                acknowledgement_note, detected_evidence::text, resolved_evidence::text
            from {AlertsProjection.Alerts} where {where} order by detected_at desc, alert_id limit {limit}
            """);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }

        var alerts = new List<AlertView>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            alerts.Add(new AlertView(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                reader.GetFieldValue<DateTimeOffset>(5), Optional<DateTimeOffset>(reader, 6), Optional<DateTimeOffset>(reader, 7),
                reader.IsDBNull(8) ? null : reader.GetString(8), reader.IsDBNull(9) ? null : reader.GetString(9),
                JsonSerializer.Deserialize<RegressionEvidence>(reader.GetString(10), AlertsProjection.Json)!,
                reader.IsDBNull(11) ? null : JsonSerializer.Deserialize<RegressionEvidence>(reader.GetString(11), AlertsProjection.Json)));
        }

        return alerts;
    }

    private static T? Optional<T>(NpgsqlDataReader reader, int ordinal) where T : struct =>
        reader.IsDBNull(ordinal) ? null : reader.GetFieldValue<T>(ordinal);
}
