using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Analytics.Hosting;

public static class Messaging
{
    /// <summary>
    /// MassTransit on RabbitMQ (RabbitMq:Uri), with durable topology and publisher confirms; each
    /// feature adds its consumers through <paramref name="features"/>.
    /// </summary>
    public static IServiceCollection AddAnalyticsBus(this IServiceCollection services, IConfiguration configuration,
        Action<IBusRegistrationConfigurator> features)
    {
        var uri = new Uri(configuration["RabbitMq:Uri"] ?? "amqp://analytics_worker:analytics_worker@127.0.0.1:5672/analytics");
        services.AddMassTransit(bus =>
        {
            features(bus);
            bus.UsingRabbitMq((context, rabbit) =>
            {
                rabbit.Host(uri, host =>
                {
                    host.PublisherConfirmation = true;
                    host.Heartbeat(TimeSpan.FromSeconds(10));
                });
                rabbit.AddRawJsonSerializer(RawSerializerOptions.All);
                rabbit.ConfigureEndpoints(context);
            });
        });
        services.Configure<MassTransitHostOptions>(host =>
        {
            host.WaitUntilStarted = true;
            host.StartTimeout = TimeSpan.FromSeconds(60);
            host.StopTimeout = TimeSpan.FromSeconds(30);
        });
        return services;
    }
}
