using System.Text.Json;
using Analytics.Contracts;
using Analytics.Redacting;
using Npgsql;

namespace Analytics.IntegrationTests;

/// <summary>The user id is stored as its keyed pseudonym (Privacy:UserIdKey), never as sent (docs/security.md, "Personal data").</summary>
public sealed class UserIdPseudonymTests
{
    [Fact]
    public async Task The_worker_stores_the_keyed_pseudonym_of_the_user_id_and_never_the_id_itself()
    {
        await using var platform = await TestPlatform.CreateAsync();
        var key = "a-test-key-for-user-pseudonyms-" + Guid.NewGuid().ToString("N");
        _ = await platform.StartWorkerAsync(new Dictionary<string, string> { ["Privacy__UserIdKey"] = key });
        var userId = "jane.doe." + Guid.NewGuid().ToString("N")[..8];
        var started = new ConversationStarted(Guid.NewGuid(), new DateTimeOffset(2026, 11, 20, 9, 0, 0, TimeSpan.Zero), 1, Guid.NewGuid(), "it",
            userId, "web", "en", new Personalization(false));
        await using (var channel = await platform.OpenChannelAsync())
        {
            await platform.PublishRawAsync(channel, JsonSerializer.Serialize(FeedbackEventBatch.From([started])));
            await platform.PublishRawAsync(channel, JsonSerializer.Serialize(FeedbackEventBatch.From([started]))); // a resend: no effect
        }

        await TestEnvironment.WaitUntilAsync(async () => await platform.StoredEventCountAsync() >= 1, TimeSpan.FromSeconds(60),
            async () => $"stored {await platform.StoredEventCountAsync()}");
        await platform.WaitUntilQuietAsync(Analytics.Ingesting.IngestionTopology.Queue, TimeSpan.FromSeconds(60));

        await using var connection = new NpgsqlConnection(platform.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("select data->>'userId', (select count(*) from analytics.mt_events where data::text like '%' || @id || '%') from analytics.mt_events where id = @event", connection);
        command.Parameters.AddWithValue("id", userId);
        command.Parameters.AddWithValue("event", started.EventId);
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal(new UserIdPseudonyms(key).Pseudonym(userId), reader.GetString(0));
        Assert.Equal(0, reader.GetInt64(1));
        Assert.Equal(1, await platform.StoredEventCountAsync());
    }
}
