using Microsoft.Extensions.DependencyInjection;

namespace Analytics.Publisher;

public static class PublisherRegistration
{
    /// <summary>
    /// Registers <see cref="FeedbackPublisher"/>. The chat service configures its own MassTransit bus on
    /// RabbitMQ (AddMassTransit + UsingRabbitMq); the publisher sends through it.
    /// </summary>
    public static IServiceCollection AddFeedbackPublisher(this IServiceCollection services,
        Action<FeedbackPublisherOptions>? configure = null)
    {
        services.AddOptions<FeedbackPublisherOptions>().Configure(o => configure?.Invoke(o));
        services.AddSingleton<FeedbackPublisher>();
        services.AddHostedService(sp => sp.GetRequiredService<FeedbackPublisher>());
        return services;
    }
}
