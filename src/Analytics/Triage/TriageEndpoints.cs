using System.Security.Claims;
using Analytics.Access;
using Analytics.Decisions;
using Analytics.Hosting;
using JasperFx;
using JasperFx.Events;
using Marten;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Analytics.Triage;

public sealed record AssignCluster(string? Assignee, long? ExpectedVersion);

public sealed record LabelCluster(string? Severity, string? Category, long? ExpectedVersion);

public sealed record AddClusterNote(string? Note, long? ExpectedVersion);

public sealed record ResolveCluster(string? FixReference, long? ExpectedVersion);

/// <summary>The stream version after an accepted triage action: send it as expectedVersion with the next one.</summary>
public sealed record TriageActionAccepted(Guid ClusterId, long Version, string Event);

/// <summary>One entry of a cluster's audit trail: the event as recorded, with its stream version and store time.</summary>
public sealed record TriageHistoryEntry(long Version, string Event, string Actor, DateTimeOffset At, DateTimeOffset StoredAt, IReadOnlyDictionary<string, string?> Details);

public static class TriageEndpoints
{
    public const int MaxListLimit = 500;

    /// <summary>The triage API under /api/triage; the first triage page's addresses lead to the console's Triage page.</summary>
    public static IEndpointRouteBuilder MapTriageEndpoints(this IEndpointRouteBuilder app)
    {
        // The first triage page (/triage, before the console) is retired: its links and bookmarks open the console's /clusters.
        app.MapGet("/triage/{**rest}", () => Results.Redirect("/clusters")).AllowAnonymous().ExcludeFromDescription(); // also /triage and /triage/
        var read = app.MapGroup("/api/triage/clusters").WithTags("Triage").RequireAuthorization(ApiKeyAuthentication.Roles.Viewer);
        read.MapGet("", List)
            .WithSummary("Thumbs-down clusters, filtered by model, capability, severity (S0-S3, none) and state (open, resolved), sorted by size, growth, severity or recent, with growth over 24-hour windows ending at asOf (default: the latest clustered feedback).");
        read.MapGet("/{clusterId}", Detail).WithSummary("A cluster with its most central samples (PII redacted at ingestion) and its daily size.");
        read.MapGet("/{clusterId}/history", History).WithSummary("The cluster's full triage audit trail: every event with actor and time.");

        var act = app.MapGroup("/api/triage/clusters/{clusterId}").WithTags("Triage").RequireAuthorization(ApiKeyAuthentication.Roles.Triager);
        act.MapPost("/assign", (Guid clusterId, AssignCluster body, IDocumentSession session, TimeProvider time, ClaimsPrincipal user, CancellationToken ct) =>
            ActAsync(clusterId, body.ExpectedVersion, new TriageCommand.Assign(body.Assignee, Actor(user)), session, time, ct))
            .WithSummary("Assigns the cluster (triager). Body: assignee, expectedVersion. 409 when the cluster changed since expectedVersion.");
        act.MapPost("/label", (Guid clusterId, LabelCluster body, IDocumentSession session, TimeProvider time, ClaimsPrincipal user, CancellationToken ct) =>
            ActAsync(clusterId, body.ExpectedVersion, new TriageCommand.Label(body.Severity, body.Category, Actor(user)), session, time, ct))
            .WithSummary("Labels severity (S0-S3) and category (safety, quality, other) (triager). Body: severity, category, expectedVersion.");
        act.MapPost("/notes", (Guid clusterId, AddClusterNote body, IDocumentSession session, TimeProvider time, ClaimsPrincipal user, CancellationToken ct) =>
            ActAsync(clusterId, body.ExpectedVersion, new TriageCommand.AddNote(body.Note, Actor(user)), session, time, ct))
            .WithSummary("Adds a note (triager). Body: note, expectedVersion.");
        act.MapPost("/resolve", async (Guid clusterId, ResolveCluster body, IDocumentSession session, TriageQueries queries, TimeProvider time, ClaimsPrincipal user, CancellationToken ct) =>
            await ActAsync(clusterId, body.ExpectedVersion,
                new TriageCommand.Resolve(body.FixReference, await queries.SizeAsync(clusterId, ct) ?? 0, Actor(user)), session, time, ct))
            .WithSummary("Resolves the cluster with a reference to the fix (triager); it reopens by itself when new items keep coming. Body: fixReference, expectedVersion.");
        return app;
    }

    private static async Task<Results<Ok<IReadOnlyList<ClusterSummary>>, ProblemHttpResult>> List(
        TriageQueries queries, CancellationToken ct, string? model = null, string? capability = null, string? severity = null,
        string? state = null, string sort = "size", int limit = 100, DateTimeOffset? asOf = null)
    {
        if (!TriageQueries.SortOrders.ContainsKey(sort))
        {
            return BadRequest("Unknown sort", $"sort must be one of {string.Join(", ", TriageQueries.SortOrders.Keys)}, not '{sort}'.");
        }

        if (severity is not null && severity is not ("S0" or "S1" or "S2" or "S3" or "none"))
        {
            return BadRequest("Unknown severity", $"severity must be one of S0, S1, S2, S3, none, not '{severity}'.");
        }

        if (state is not null && state is not ("open" or "resolved"))
        {
            return BadRequest("Unknown state", $"state must be open or resolved, not '{state}'.");
        }

        if (limit is < 1 or > MaxListLimit)
        {
            return BadRequest("limit out of range", $"limit must be between 1 and {MaxListLimit}.");
        }

        if (ParameterProblems.OutOfRange("asOf", asOf) is { } outside)
        {
            return outside;
        }

        var end = asOf ?? await queries.LatestAsync(ct);
        return TypedResults.Ok(await queries.ListAsync(new ClusterFilter(Blank(model), Blank(capability), severity, state), sort, limit, end, ct));
    }

    private static async Task<Results<Ok<ClusterDetail>, ProblemHttpResult>> Detail(
        Guid clusterId, TriageQueries queries, CancellationToken ct, DateTimeOffset? asOf = null)
    {
        if (ParameterProblems.OutOfRange("asOf", asOf) is { } outside)
        {
            return outside;
        }

        var end = asOf ?? await queries.LatestAsync(ct);
        return await queries.DetailAsync(clusterId, end, ct) is { } detail ? TypedResults.Ok(detail) : NotFound(clusterId);
    }

    private static async Task<Results<Ok<IReadOnlyList<TriageHistoryEntry>>, ProblemHttpResult>> History(
        Guid clusterId, IQuerySession session, CancellationToken ct)
    {
        var events = await session.Events.FetchStreamAsync(clusterId, token: ct);
        if (events.Count == 0)
        {
            return NotFound(clusterId);
        }

        IReadOnlyList<TriageHistoryEntry> entries = events.Select(e => e.Data switch
        {
            ClusterOpened o => Entry(e, o.Actor, o.At, ("modelId", o.ModelId), ("capability", o.Capability), ("reason", o.Reason), ("suggestedLabel", o.SuggestedLabel)),
            ClusterAssigned a => Entry(e, a.Actor, a.At, ("assignee", a.Assignee)),
            ClusterLabeled l => Entry(e, l.Actor, l.At, ("severity", l.Severity.ToString()), ("category", TriageTables.Wire(l.Category))),
            ClusterNoteAdded n => Entry(e, n.Actor, n.At, ("note", n.Note)),
            ClusterResolved r => Entry(e, r.Actor, r.At, ("fixReference", r.FixReference), ("sizeAtResolution", r.SizeAtResolution.ToString(System.Globalization.CultureInfo.InvariantCulture))),
            ClusterReopened r => Entry(e, r.Actor, r.At, ("newItems", r.NewItems.ToString(System.Globalization.CultureInfo.InvariantCulture))),
            _ => Entry(e, "unknown", e.Timestamp),
        }).ToList();
        return TypedResults.Ok(entries);
    }

    private static TriageHistoryEntry Entry(JasperFx.Events.IEvent e, string actor, DateTimeOffset at, params (string Key, string? Value)[] details) =>
        new(e.Version, e.Data.GetType().Name, actor, at, e.Timestamp, details.ToDictionary(d => d.Key, d => d.Value));

    /// <summary>
    /// One triage action: the cluster's state is folded from its stream, which must be at the caller's expected version
    /// (optimistic concurrency: another action in between → 409), <see cref="ClusterTriage.Decide"/> gives the event or
    /// a rejection, and the event is appended; <see cref="TriageRowProjection"/> updates the row in the same transaction.
    /// </summary>
    private static async Task<Results<Ok<TriageActionAccepted>, ProblemHttpResult>> ActAsync(
        Guid clusterId, long? expectedVersion, TriageCommand command, IDocumentSession session, TimeProvider time, CancellationToken ct)
    {
        if (expectedVersion is not { } expected || expected < 1)
        {
            return BadRequest("expectedVersion is required", "Send the cluster's version as you saw it (field version of the cluster) as expectedVersion.");
        }

        try
        {
            // Without an expected version here, so that an unknown cluster is a 404 and not a version conflict; the append
            // still checks that the stream has not moved since this read.
            var stream = await session.Events.FetchForWriting<ClusterTriage>(clusterId, ct);
            if (stream.Aggregate is null)
            {
                return NotFound(clusterId);
            }

            if (stream.CurrentVersion != expected)
            {
                return Changed(clusterId, expected);
            }

            switch (ClusterTriage.Decide(stream.Aggregate, command, time.GetUtcNow()))
            {
                case Decision.Rejected rejected:
                    return Problem(rejected);
                case Decision.Accepted accepted:
                    stream.AppendOne(accepted.Event);
                    await session.SaveChangesAsync(ct);
                    return TypedResults.Ok(new TriageActionAccepted(clusterId, expected + 1, accepted.Event.GetType().Name));
                default:
                    throw new InvalidOperationException("A decision is accepted or rejected.");
            }
        }
        catch (Exception e) when (e is ConcurrencyException or EventStreamUnexpectedMaxEventIdException)
        {
            return Changed(clusterId, expected);
        }
    }

    private static ProblemHttpResult Changed(Guid clusterId, long expected) =>
        TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "The cluster changed",
            detail: $"Cluster {clusterId} is no longer at version {expected}: reload it (GET /api/triage/clusters/{clusterId}) and try again.");

    private static ProblemHttpResult Problem(Decision.Rejected rejected) => TypedResults.Problem(
        statusCode: rejected.Reason switch
        {
            Rejection.InvalidCommand => StatusCodes.Status400BadRequest,
            Rejection.NotFound => StatusCodes.Status404NotFound,
            _ => StatusCodes.Status409Conflict,
        },
        title: rejected.Title, detail: rejected.Detail);

    private static string Actor(ClaimsPrincipal user) => user.Identity?.Name ?? "unknown";

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;

    private static ProblemHttpResult NotFound(Guid clusterId) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Unknown cluster", detail: $"No cluster {clusterId}.");

    private static ProblemHttpResult BadRequest(string title, string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: title, detail: detail);
}
