using Marten;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Analytics.Conversations;

/// <summary>One stored event of a conversation, as the API returns it.</summary>
public sealed record StoredEvent(Guid EventId, long Version, long Sequence, string Type, DateTimeOffset StoredAt, object Data);

public static class ConversationEventsEndpoint
{
    /// <summary>GET /api/conversations/{id}/events: the recorded history of one conversation.</summary>
    public static IEndpointRouteBuilder MapConversationEvents(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/conversations/{conversationId}/events", GetEvents)
            .RequireAuthorization(Access.ApiKeyAuthentication.Roles.Viewer)
            .WithName("GetConversationEvents")
            .WithTags("Conversations")
            .WithSummary("The events recorded for one conversation, in stream order.");
        return app;
    }

    private static async Task<Results<Ok<IReadOnlyList<StoredEvent>>, ProblemHttpResult>> GetEvents(
        Guid conversationId, IQuerySession session, CancellationToken cancellationToken)
    {
        var events = await session.Events.FetchStreamAsync(conversationId, token: cancellationToken);
        if (events.Count == 0)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound,
                title: "Conversation not found", detail: $"No events are stored for conversation {conversationId}.");
        }

        return TypedResults.Ok<IReadOnlyList<StoredEvent>>(events
            .Select(e => new StoredEvent(e.Id, e.Version, e.Sequence, e.EventTypeName, e.Timestamp, e.Data))
            .ToList());
    }
}
