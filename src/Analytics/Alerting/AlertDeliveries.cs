using Analytics.Conversations;
using Weasel.Postgresql.Tables;

namespace Analytics.Alerting;

/// <summary>
/// The alert outbox: a row per alert transition and channel (the RabbitMQ exchange, each configured webhook), written
/// in the same transaction as the alert event, so no alert is lost; <see cref="AlertDelivery"/> delivers them.
/// A row is <see cref="States.Pending"/> until it is delivered or dead: a sender holds it for an attempt only while
/// <c>leased_until</c> lies ahead (the lease), and <c>attempts</c> counts the claims, so it also tells a sender whether
/// the row is still its own when it records the outcome.
/// </summary>
public static class AlertDeliveries
{
    public const string Table = EventStoreRegistration.SchemaName + ".alert_deliveries";
    public const string RabbitMqChannel = "rabbitmq";
    public const string WebhookChannelPrefix = "webhook:";

    /// <summary>The states of a delivery, as the API names them, with the condition that selects each.</summary>
    public static class States
    {
        /// <summary>Not delivered yet, to be tried (again): waiting, leased to a sender, or failed and backing off.</summary>
        public const string Pending = "pending";

        public const string Delivered = "delivered";

        /// <summary>Given up: its payload cannot be read, or every allowed attempt failed (<c>Alerts:MaxDeliveryAttempts</c>).</summary>
        public const string Dead = "dead";

        public static readonly IReadOnlyDictionary<string, string> Conditions = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [Pending] = "delivered_at is null and dead_at is null",
            [Delivered] = "delivered_at is not null",
            [Dead] = "dead_at is not null",
        };

        /// <summary>The state of a row as a SQL expression.</summary>
        public const string Expression = "case when delivered_at is not null then 'delivered' when dead_at is not null then 'dead' else 'pending' end";
    }

    public static Table Definition()
    {
        var table = new Table(Table);
        table.AddColumn<Guid>("delivery_id").AsPrimaryKey();
        table.AddColumn<Guid>("alert_id").NotNull();
        table.AddColumn<string>("channel").NotNull();
        table.AddColumn("payload", "jsonb").NotNull();
        table.AddColumn<DateTimeOffset>("created_at").NotNull();
        table.AddColumn<DateTimeOffset>("next_attempt_at").NotNull();
        table.AddColumn<int>("attempts").NotNull().DefaultValueByExpression("0");
        table.AddColumn<DateTimeOffset>("delivered_at");
        table.AddColumn<string>("last_error");
        table.AddColumn<DateTimeOffset>("leased_until");
        table.AddColumn<DateTimeOffset>("dead_at");
        table.Indexes.Add(new IndexDefinition("ix_alert_deliveries_pending") { Columns = ["next_attempt_at"], Predicate = "delivered_at is null" });
        table.Indexes.Add(new IndexDefinition("ix_alert_deliveries_dead") { Columns = ["channel"], Predicate = "dead_at is not null" });
        return table;
    }
}
