using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Analytics.Conversations;
using Analytics.Ingesting;
using Marten;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Analytics.IntegrationTests;

/// <summary>The API host over the real event store: a conversation's recorded history.</summary>
public sealed class ConversationEventsApiTests : ApiPlatformTest
{
    [Fact]
    public async Task A_conversation_returns_its_events_in_stream_order_and_appending_them_again_changes_nothing()
    {
        var client = ApiClients.Viewer(_api);
        var events = TestConversations.Generate(1);
        var conversationId = TestConversations.ConversationId(events[0]);
        var appender = new FeedbackAppender(_api.Services.GetRequiredService<IDocumentStore>(),
            _api.Services.GetRequiredService<NpgsqlDataSource>(), Options.Create(new IngestionOptions()), NullLogger<FeedbackAppender>.Instance);
        var accepted = events.Select(e => new AcceptedEvent(TestConversations.EventId(e), conversationId,
            RecordedEvent.From(e, DateTimeOffset.UtcNow))).ToList();

        var first = await appender.AppendAsync(accepted, CancellationToken.None);
        var again = await appender.AppendAsync(accepted, CancellationToken.None);

        Assert.Equal(4, first.Appended);
        Assert.Equal(0, again.Appended);
        Assert.Equal(4, again.Duplicates);

        var stored = await client.GetFromJsonAsync<JsonElement>($"/api/conversations/{conversationId}/events");
        Assert.Equal(events.Select(TestConversations.EventId), stored.EnumerateArray().Select(e => e.GetProperty("eventId").GetGuid()));
        Assert.Equal([1L, 2L, 3L, 4L], stored.EnumerateArray().Select(e => e.GetProperty("version").GetInt64()));
        Assert.Equal("response_rated_recorded", stored[3].GetProperty("type").GetString());
    }

    [Fact]
    public async Task An_unknown_conversation_is_a_404_with_problem_details()
    {
        var response = await ApiClients.Viewer(_api).GetAsync($"/api/conversations/{Guid.NewGuid()}/events");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Without_a_key_or_with_an_unknown_key_the_api_answers_401()
    {
        var anonymous = _api.CreateClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync($"/api/conversations/{Guid.NewGuid()}/events")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/satisfaction/matrix")).StatusCode);
        var stranger = _api.CreateClient();
        stranger.DefaultRequestHeaders.Add(Analytics.Access.ApiKeyAuthentication.HeaderName, "not-a-key");
        Assert.Equal(HttpStatusCode.Unauthorized, (await stranger.GetAsync("/api/models")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await ApiClients.Viewer(_api).GetAsync("/api/models")).StatusCode);
    }

    [Fact]
    public async Task The_openapi_document_describes_the_endpoint()
    {
        var document = await _api.CreateClient().GetStringAsync("/openapi/v1.json");
        Assert.Contains("/api/conversations/{conversationId}/events", document, StringComparison.Ordinal);
    }
}
