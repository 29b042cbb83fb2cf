using MassTransit;
using Microsoft.Extensions.Options;

namespace Analytics.Ingesting;

/// <summary>The ingestion endpoint: bound to the fanout exchange, quorum queue, raw JSON or MassTransit envelopes, a byte budget.</summary>
public sealed class IngestFeedbackConsumerDefinition : ConsumerDefinition<IngestFeedbackConsumer>
{
    private readonly IngestionOptions _options;
    private readonly IngestionRoomFilter _room;

    public IngestFeedbackConsumerDefinition(IOptions<IngestionOptions> options, IngestionRoomFilter room)
    {
        _options = options.Value;
        _room = room;
        EndpointName = IngestionTopology.Queue;
        ConcurrentMessageLimit = Math.Max(1, _options.ConcurrentMessageLimit);
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<IngestFeedbackConsumer> consumerConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.ConfigureConsumeTopology = false;
        endpointConfigurator.PrefetchCount = Math.Max(_options.PrefetchCount, _options.ConcurrentMessageLimit);
        endpointConfigurator.AddDeserializer(new IngestionJsonSerializerFactory(), isDefault: true);
        endpointConfigurator.UseMessageRetry(retry => retry.Intervals(200, 1000, 3000, 5000));
        // Memory follows bytes, not messages: a message waits for room before it is deserialized.
        endpointConfigurator.ConfigureReceive(receive => receive.UseFilter(_room));

        if (endpointConfigurator is IRabbitMqReceiveEndpointConfigurator rabbit)
        {
            rabbit.SetQuorumQueue();
            rabbit.Bind(IngestionTopology.Exchange, exchange => exchange.ExchangeType = "fanout");
        }
    }
}
