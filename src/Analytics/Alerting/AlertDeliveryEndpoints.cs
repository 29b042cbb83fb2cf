using Analytics.Access;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Npgsql;

namespace Analytics.Alerting;

/// <summary>
/// One row of the alert outbox as the API returns it: where it goes, its state (pending, delivered, dead), how many
/// attempts it took and the last error (an HTTP status, a timeout, an exception type; never a URL). Not the payload:
/// the alert itself is at <c>GET /api/alerts/{alertId}</c>.
/// </summary>
public sealed record AlertDeliveryView(
    Guid DeliveryId,
    Guid AlertId,
    string Channel,
    string State,
    int Attempts,
    DateTimeOffset CreatedAt,
    DateTimeOffset NextAttemptAt,
    DateTimeOffset? LeasedUntil,
    DateTimeOffset? DeliveredAt,
    DateTimeOffset? DeadAt,
    string? LastError);

public static class AlertDeliveryEndpoints
{
    public static IEndpointRouteBuilder MapAlertDeliveryEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/alerts/deliveries", List).WithTags("Alerts").RequireAuthorization(ApiKeyAuthentication.Roles.Triager)
            .WithSummary("The alert outbox, newest first (triager role): state=pending|delivered|dead|all (default all), optionally for one channel "
                + "(rabbitmq, webhook:<name>) or alert. Dead deliveries were given up: unreadable payload, or Alerts:MaxDeliveryAttempts failed.");
        return app;
    }

    private static async Task<Results<Ok<IReadOnlyList<AlertDeliveryView>>, ProblemHttpResult>> List(
        NpgsqlDataSource dataSource, CancellationToken ct, string state = "all", string? channel = null, Guid? alertId = null, int limit = 100)
    {
        if (state != "all" && !AlertDeliveries.States.Conditions.ContainsKey(state))
        {
            return TypedResults.Problem(title: "Unknown state", detail: $"state must be pending, delivered, dead or all, not '{state}'.",
                statusCode: StatusCodes.Status400BadRequest);
        }

        if (limit is < 1 or > 1000)
        {
            return TypedResults.Problem(title: "Bad limit", detail: "limit must be between 1 and 1000.", statusCode: StatusCodes.Status400BadRequest);
        }

        var condition = state == "all" ? "true" : AlertDeliveries.States.Conditions[state];
        await using var command = dataSource.CreateCommand(
            $"""
            select delivery_id, alert_id, channel, {AlertDeliveries.States.Expression}, attempts, created_at, next_attempt_at, leased_until,
                delivered_at, dead_at, last_error
            from {AlertDeliveries.Table}
            where {condition} and ($1::text is null or channel = $1) and ($2::uuid is null or alert_id = $2)
            order by created_at desc, delivery_id limit {limit}
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)channel ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)alertId ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Uuid });
        var deliveries = new List<AlertDeliveryView>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            deliveries.Add(new AlertDeliveryView(reader.GetGuid(0), reader.GetGuid(1), reader.GetString(2), reader.GetString(3), reader.GetInt32(4),
                reader.GetFieldValue<DateTimeOffset>(5), reader.GetFieldValue<DateTimeOffset>(6), Optional(reader, 7), Optional(reader, 8),
                Optional(reader, 9), reader.IsDBNull(10) ? null : reader.GetString(10)));
        }

        return TypedResults.Ok<IReadOnlyList<AlertDeliveryView>>(deliveries);
    }

    private static DateTimeOffset? Optional(NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetFieldValue<DateTimeOffset>(ordinal);
}
