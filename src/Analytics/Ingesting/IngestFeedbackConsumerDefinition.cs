using MassTransit;
using Microsoft.Extensions.Options;

namespace Analytics.Ingesting;

/// <summary>The ingestion endpoint: bound to the fanout exchange, quorum queue, raw JSON or MassTransit envelopes, batches.</summary>
public sealed class IngestFeedbackConsumerDefinition : ConsumerDefinition<IngestFeedbackConsumer>
{
    private readonly IngestionOptions _options;

    public IngestFeedbackConsumerDefinition(IOptions<IngestionOptions> options)
    {
        _options = options.Value;
        EndpointName = IngestionTopology.Queue;
        ConcurrentMessageLimit = _options.MessageLimit * _options.ConcurrencyLimit;
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<IngestFeedbackConsumer> consumerConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.ConfigureConsumeTopology = false;
        endpointConfigurator.PrefetchCount = Math.Max(_options.PrefetchCount, _options.MessageLimit * _options.ConcurrencyLimit);
        endpointConfigurator.AddDeserializer(new IngestionJsonSerializerFactory(), isDefault: true);
        endpointConfigurator.UseMessageRetry(retry => retry.Intervals(200, 1000, 3000, 5000));

        if (endpointConfigurator is IRabbitMqReceiveEndpointConfigurator rabbit)
        {
            rabbit.SetQuorumQueue();
            rabbit.Bind(IngestionTopology.Exchange, exchange => exchange.ExchangeType = "fanout");
        }

        consumerConfigurator.Options<BatchOptions>(batch => batch
            .SetMessageLimit(_options.MessageLimit)
            .SetTimeLimit(TimeSpan.FromMilliseconds(_options.TimeLimitMs))
            .SetConcurrencyLimit(_options.ConcurrencyLimit));
    }
}
