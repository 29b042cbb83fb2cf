using Analytics.Conversations;
using Analytics.Ingesting;
using Marten;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Analytics.IntegrationTests;

/// <summary>
/// A host that runs the projection daemon gives back every connection it opened when it is disposed, the daemon's
/// LISTEN connection (UseListenNotifyForEventAppends) included, which Marten itself never closes.
/// </summary>
public sealed class ProjectionDaemonHostTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private TestPlatform _platform = null!;

    public async Task InitializeAsync() => _platform = await TestPlatform.CreateAsync();

    public async Task DisposeAsync() => await _platform.DisposeAsync();

    [Fact]
    public async Task Disposing_a_daemon_host_closes_the_connections_of_the_application_role_listen_included()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(_platform.HostSettings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)));
        builder.Services.AddEventStore(builder.Configuration, runProjectionDaemon: true);
        var host = builder.Build();
        await host.StartAsync();

        // Once the daemon has projected an append it has waited on its wakeup, which opened the LISTEN connection.
        var store = (DocumentStore)host.Services.GetRequiredService<IDocumentStore>();
        var appender = new FeedbackAppender(store, host.Services.GetRequiredService<NpgsqlDataSource>(),
            Options.Create(new IngestionOptions()), NullLogger<FeedbackAppender>.Instance);
        var events = TestConversations.Generate(1);
        await appender.AppendAsync(events.Select(e => new AcceptedEvent(TestConversations.EventId(e), TestConversations.ConversationId(e),
            RecordedEvent.From(e, TestConversations.At))).ToList(), CancellationToken.None);
        await TestEnvironment.WaitUntilAsync(async () => await _platform.ProjectionCaughtUpAsync() && store.Options.Projections.Wakeup is not null,
            Timeout, () => Task.FromResult("the daemon did not project the append"));

        await host.StopAsync();
        host.Dispose();

        var open = $"select count(*) from pg_stat_activity where datname = '{_platform.Name}' and usename = '{TestEnvironment.PostgresAppUser}'";
        await TestEnvironment.WaitUntilAsync(async () => await _platform.ScalarAsync<long>(open) == 0, Timeout,
            async () => $"{await _platform.ScalarAsync<long>(open)} connections of the application role are still open");
    }
}
