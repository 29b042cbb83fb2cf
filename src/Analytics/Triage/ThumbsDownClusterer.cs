using Analytics.Contracts;
using Analytics.Conversations;
using Analytics.Decisions;
using Analytics.Satisfaction;
using Analytics.Texts;
using JasperFx.Events;
using JasperFx.Events.Daemon;
using JasperFx.Events.Projections;
using Marten;
using Marten.Subscriptions;
using JasperFx;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Analytics.Triage;

/// <summary>
/// Clusters thumbs-down feedback off the ingestion path: a Marten subscription in the worker's async daemon, with its
/// own checkpoint (mt_event_progression), that takes ratings a page at a time, embeds the comment and prompt excerpt
/// of every thumbs-down in one batch, assigns each to a cluster of its group (<see cref="CentroidClustering"/>) and
/// commits items, clusters and triage events (ClusterOpened, ClusterReopened) in one transaction before the daemon moves
/// the checkpoint; a turn already clustered is skipped, so a page retried after a lost checkpoint changes nothing.
/// <para>
/// No stall on content: when a page fails for its items (not for a lost connection or a systemic database error), it is
/// clustered again one thumbs-down at a time, and the one that fails is dead-lettered with its exception
/// (mt_doc_deadletterevent, counted by analytics_projection_dead_letters{projection="ThumbsDownClusters"}), logged by
/// its ids only, and the subscription goes on. Labels are cut on text-element boundaries (<see cref="TextElements"/>).
/// </para>
/// </summary>
public sealed partial class ThumbsDownClusterer : SubscriptionBase
{
    public const string SubscriptionName = "ThumbsDownClusters";

    /// <summary>Central items looked at (per cluster) to suggest a label.</summary>
    private const int LabelCandidates = 20;

    private const int MaxLabelLength = 140;

    private readonly NpgsqlDataSource _dataSource;
    private readonly SentenceEmbedder _embedder;
    private readonly TriageOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<ThumbsDownClusterer> _logger;
    private readonly IServiceProvider _services;
    private readonly TriageFaults _faults;

    public ThumbsDownClusterer(NpgsqlDataSource dataSource, SentenceEmbedder embedder, IOptions<TriageOptions> options,
        TimeProvider time, ILogger<ThumbsDownClusterer> logger, IServiceProvider services, TriageFaults faults)
    {
        _faults = faults;
        _services = services; // the document store, resolved when used: it is built with this subscription in it
        _dataSource = dataSource;
        _embedder = embedder;
        _options = options.Value;
        _time = time;
        _logger = logger;
        Name = SubscriptionName;
        IncludeType<ResponseRatedRecorded>();
        Options.BatchSize = _options.BatchSize;
    }

    /// <summary>One thumbs-down to cluster: the first capability and reason name its group.</summary>
    public sealed record Item(IEvent<ResponseRatedRecorded> Rated, string Capability, string Reason, string? Prompt)
    {
        public ResponseRatedRecorded Rating => Rated.Data;

        public string Group => GroupOf(Rating.Model.Id, Capability, Reason);

        /// <summary>What a label is made of when no item of the cluster has a comment.</summary>
        public string Text => string.Join(" ", new[] { Rating.Comment, Prompt }.Where(s => !string.IsNullOrWhiteSpace(s))) is { Length: > 0 } text
            ? text
            : Reason.Replace('_', ' ');
    }

    public static string GroupOf(string modelId, string capability, string reason) => $"{modelId}|{capability}|{reason}";

    /// <summary>The capability a thumbs-down is grouped under: its first one, "chat" when it used none.</summary>
    public static string PrimaryCapability(IReadOnlyList<string> capabilities) => capabilities.Count > 0 ? capabilities[0] : "chat";

    /// <summary>The reason a thumbs-down is grouped under: its first one, "unspecified" when none was given.</summary>
    public static string PrimaryReason(IReadOnlyList<FeedbackReason> reasons) =>
        reasons.Count > 0 ? WireNames.Wire(reasons.Take(1))[0] : "unspecified";

    public override async Task<IChangeListener> ProcessEventsAsync(EventRange page, ISubscriptionController controller,
        IDocumentOperations operations, CancellationToken cancellationToken)
    {
        var downs = page.Events.OfType<IEvent<ResponseRatedRecorded>>()
            .Where(e => e.Data.Rating == Rating.Down)
            .DistinctBy(e => e.Data.TurnId)
            .ToList();
        if (downs.Count == 0)
        {
            return NullChangeListener.Instance;
        }

        try
        {
            await ClusterAsync(downs, cancellationToken);
        }
        catch (Exception pageFailure) when (downs.Count > 1 && IsItemFailure(pageFailure, cancellationToken))
        {
            // One item must not hold up the others, nor the subscription: cluster them one at a time and dead-letter the
            // one that fails. Each item commits on its own, so the ones before a failure stay clustered.
            LogPageRetriedItemByItem(_logger, page.SequenceFloor, page.SequenceCeiling, downs.Count, pageFailure.GetType().Name);
            foreach (var down in downs)
            {
                await ClusterOrDeadLetterAsync(down, controller, cancellationToken);
            }
        }
        catch (Exception itemFailure) when (IsItemFailure(itemFailure, cancellationToken))
        {
            await DeadLetterAsync(downs[0], itemFailure, controller);
        }

        return NullChangeListener.Instance;
    }

    private async Task ClusterOrDeadLetterAsync(IEvent<ResponseRatedRecorded> down, ISubscriptionController controller, CancellationToken ct)
    {
        try
        {
            await ClusterAsync([down], ct);
        }
        catch (Exception failure) when (IsItemFailure(failure, ct))
        {
            await DeadLetterAsync(down, failure, controller);
        }
    }

    /// <summary>
    /// Records the thumbs-down in Marten's dead-letter table (mt_doc_deadletterevent, projection name
    /// <see cref="SubscriptionName"/>; counted by analytics_projection_dead_letters) with its exception, and logs its
    /// ids and the exception's type: never its comment or prompt.
    /// </summary>
    private async Task DeadLetterAsync(IEvent<ResponseRatedRecorded> down, Exception failure, ISubscriptionController controller)
    {
        LogDeadLettered(_logger, down.Id, down.Sequence, failure.GetType().Name);
        await controller.RecordDeadLetterEventAsync(down, failure);
    }

    /// <summary>
    /// True when a failure belongs to the items being clustered (their content, or a fault hook), so dead-lettering them
    /// lets the rest go on. False for a cancellation, a lost or refused connection, a timeout, a concurrency conflict
    /// left after retries, or a systemic database error (missing table or column, privileges): those would fail every item
    /// alike, so the page fails and the daemon retries it as a whole (nothing is dead-lettered for them).
    /// </summary>
    public static bool IsItemFailure(Exception failure, CancellationToken ct)
    {
        if (ct.IsCancellationRequested)
        {
            return false;
        }

        for (var e = failure; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case PostgresException postgres:
                    // 22: data exception (a value PostgreSQL refuses), 23: integrity constraint, 54: program limit (row too big).
                    return postgres.SqlState.StartsWith("22", StringComparison.Ordinal) || postgres.SqlState.StartsWith("23", StringComparison.Ordinal)
                        || postgres.SqlState.StartsWith("54", StringComparison.Ordinal);
                case System.Text.EncoderFallbackException or System.Text.DecoderFallbackException:
                    return true;
            }
        }

        for (var e = failure; e is not null; e = e.InnerException)
        {
            if (e is OperationCanceledException or NpgsqlException or TimeoutException or IOException or System.Net.Sockets.SocketException
                or ConcurrencyException or ObjectDisposedException)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Clusters these thumbs-down (those not clustered yet) in three steps: <see cref="LoadAsync"/> (their prompts and
    /// vectors, and the clusters of their groups), <see cref="Assign"/> (each to a cluster of its group) and
    /// <see cref="WriteAsync"/> (labels, then the items, the clusters' rows and their triage events in one transaction of
    /// its own, before the daemon moves the checkpoint). A page retried after that (the checkpoint's commit lost) finds its
    /// turns clustered and does nothing, so every thumbs-down is clustered exactly once.
    /// </summary>
    private async Task ClusterAsync(List<IEvent<ResponseRatedRecorded>> downs, CancellationToken cancellationToken)
    {
        _faults.ThrowIfPoisoned(downs);
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        if (await LoadAsync(connection, downs, cancellationToken) is not { } page)
        {
            return;
        }

        await WriteAsync(connection, page, Assign(page), cancellationToken);
    }

    /// <summary>A page's thumbs-down not clustered yet, their vectors, and the clusters of their groups with their triage state as the rows hold it.</summary>
    private sealed record LoadedPage(List<Item> Items, float[][] Vectors, CentroidClustering Clustering, Dictionary<Guid, ClusterState> States);

    /// <summary>One clustered thumbs-down: its vector, its cluster and its cosine to the centroid when it joined.</summary>
    private sealed record Member(Item Item, float[] Vector, CentroidClustering.Cluster Cluster, double Similarity);

    /// <summary>
    /// The load step: drops the turns clustered already (null when none is left), reads the prompt excerpts, embeds the
    /// items in one batch and loads the clusters of their groups.
    /// </summary>
    private async Task<LoadedPage?> LoadAsync(NpgsqlConnection connection, List<IEvent<ResponseRatedRecorded>> downs, CancellationToken ct)
    {
        var clustered = await ClusteredTurnsAsync(connection, downs.Select(d => d.Data.TurnId).ToArray(), ct);
        downs = downs.Where(d => !clustered.Contains(d.Data.TurnId)).ToList();
        if (downs.Count == 0)
        {
            return null;
        }

        var prompts = await PromptsAsync(connection, downs, ct);
        var items = downs.Select(d => new Item(d, PrimaryCapability(d.Data.Capabilities), PrimaryReason(d.Data.Reasons),
            prompts.GetValueOrDefault(d.Data.TurnId))).ToList();
        var vectors = FeedbackEmbedding.Embed(_embedder, items.Select(i => new FeedbackEmbedding.Feedback(i.Rating.Comment, i.Prompt, i.Reason)).ToList(), ct);
        var clustering = new CentroidClustering(_options.SimilarityThreshold);
        var states = await LoadClustersAsync(connection, clustering, items.Select(i => (i.Rating.Model.Id, i.Capability, i.Reason)).Distinct().ToList(), ct);
        return new LoadedPage(items, vectors, clustering, states);
    }

    /// <summary>The assign step, in memory: each item joins the most similar cluster of its group, or opens one (its id is the item's rating event id).</summary>
    private static List<Member> Assign(LoadedPage page)
    {
        var members = new List<Member>(page.Items.Count);
        for (var i = 0; i < page.Items.Count; i++)
        {
            var item = page.Items[i];
            var (cluster, similarity) = page.Clustering.Assign(item.Group, page.Vectors[i], () => item.Rating.EventId);
            members.Add(new Member(item, page.Vectors[i], cluster, similarity));
        }

        return members;
    }

    /// <summary>
    /// The write step: suggests the changed clusters' labels, opens the new clusters' streams (ClusterOpened) and commits
    /// them with the items and rows (<see cref="CommitAsync"/>). Only the clusters whose row says resolved are looked at
    /// for a reopen; whether one reopens is decided on its stream.
    /// </summary>
    private async Task WriteAsync(NpgsqlConnection connection, LoadedPage page, List<Member> members, CancellationToken ct)
    {
        var labels = await SuggestLabelsAsync(connection, members, ct);
        var now = _time.GetUtcNow();
        var changed = page.Clustering.Clusters.Where(c => c.Changed).ToList();
        var opened = changed.Where(c => c.Opened).ToDictionary(c => c.Id, c =>
        {
            var first = members.First(m => m.Cluster == c).Item;
            return new ClusterOpened(c.Id, first.Rating.Model.Id, first.Capability, first.Reason, labels[c.Id].Label, ClusterTriage.SystemActor, now);
        });
        var reopenCandidates = changed.Where(c => !c.Opened && page.States[c.Id] == ClusterState.Resolved).ToList();
        await CommitAsync(members, changed, labels, opened, reopenCandidates, now, ct);
    }

    private static void QueueRows(IDocumentOperations operations,
        List<Member> members, List<CentroidClustering.Cluster> changed,
        Dictionary<Guid, (string Label, double Similarity)> labels, Dictionary<Guid, ClusterOpened> opened, Dictionary<Guid, long> openedVersions,
        DateTimeOffset now)
    {
        foreach (var (item, vector, cluster, similarity) in members)
        {
            var rating = item.Rating;
            operations.QueueSqlCommand(
                $"""
                insert into {TriageTables.Items} (turn_id, rating_event_id, conversation_id, cluster_id, model_id, model_version, capability,
                    reason, reasons, comment, prompt_excerpt, similarity, embedding, occurred_at, stored_at, clustered_at)
                values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, clock_timestamp())
                on conflict (turn_id) do nothing
                """,
                rating.TurnId, rating.EventId, item.Rated.StreamId, cluster.Id, rating.Model.Id, rating.Model.Version, item.Capability,
                item.Reason, WireNames.Wire(rating.Reasons), (object?)rating.Comment ?? DBNull.Value,
                (object?)item.Prompt ?? DBNull.Value, similarity, vector, rating.OccurredAt.ToUniversalTime(), item.Rated.Timestamp.ToUniversalTime());
        }

        foreach (var cluster in changed)
        {
            var times = members.Where(m => m.Cluster == cluster).Select(m => m.Item.Rating.OccurredAt.ToUniversalTime()).ToList();
            var (label, labelSimilarity) = labels[cluster.Id];
            if (opened.TryGetValue(cluster.Id, out var open))
            {
                operations.QueueSqlCommand(
                    $"""
                    insert into {TriageTables.Clusters} (cluster_id, model_id, capability, reason, label, label_similarity, centroid, size,
                        opened_at, first_item_at, last_item_at, state, triage_version, updated_at)
                    values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                    cluster.Id, open.ModelId, open.Capability, open.Reason, label, labelSimilarity, cluster.Centroid, cluster.Size,
                    now, times.Min(), times.Max(), TriageTables.Wire(ClusterState.Open), openedVersions[cluster.Id], now);
                continue;
            }

            operations.QueueSqlCommand(
                $"""
                update {TriageTables.Clusters} set centroid = ?, size = ?, label = ?, label_similarity = ?,
                    first_item_at = least(first_item_at, ?), last_item_at = greatest(last_item_at, ?), updated_at = ?
                where cluster_id = ?
                """,
                cluster.Centroid, cluster.Size, label, labelSimilarity, times.Min(), times.Max(), now, cluster.Id);
        }
    }

    /// <summary>
    /// Commits the clustered items, the changed clusters' rows and the triage events (ClusterOpened; ClusterReopened where
    /// <see cref="ClusterTriage.Decide"/> accepts the reopen on the stream's own state, its row updated by
    /// <see cref="TriageRowProjection"/>) in one session. Cluster ids are the first item's rating event id,
    /// so a stream that exists already (opened by an earlier attempt whose rows were not written) is not opened twice.
    /// A triager acting on a cluster in between makes the append conflict: the streams are read again and it is retried.
    /// </summary>
    private async Task CommitAsync(List<Member> members,
        List<CentroidClustering.Cluster> changed, Dictionary<Guid, (string Label, double Similarity)> labels, Dictionary<Guid, ClusterOpened> opened,
        List<CentroidClustering.Cluster> reopenCandidates, DateTimeOffset now, CancellationToken ct)
    {
        var store = _services.GetRequiredService<IDocumentStore>();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var session = store.LightweightSession();
                var openedVersions = await StreamVersionsAsync(opened.Keys.ToArray(), ct);
                foreach (var open in opened.Values.Where(o => !openedVersions.ContainsKey(o.ClusterId)))
                {
                    session.Events.StartStream<ClusterTriage>(open.ClusterId, open);
                    openedVersions[open.ClusterId] = 1;
                }

                var reopened = new List<ClusterReopened>();
                foreach (var cluster in reopenCandidates)
                {
                    var stream = await session.Events.FetchForWriting<ClusterTriage>(cluster.Id, ct);
                    if (stream.Aggregate is { } current
                        && ClusterTriage.Decide(current, new TriageCommand.Reopen(cluster.Size, _options.ReopenAfterItems), now) is Decision.Accepted { Event: ClusterReopened reopen })
                    {
                        stream.AppendOne(reopen);
                        reopened.Add(reopen);
                    }
                }

                QueueRows(session, members, changed, labels, opened, openedVersions, now);
                await session.SaveChangesAsync(ct);
                foreach (var id in opened.Keys)
                {
                    LogOpened(_logger, id, changed.First(c => c.Id == id).Group);
                }

                foreach (var reopen in reopened)
                {
                    LogReopened(_logger, reopen.ClusterId, reopen.NewItems);
                }

                return;
            }
            catch (ConcurrencyException) when (attempt < 5)
            {
                // A triager acted on the cluster in between: look at its stream again.
            }
        }
    }

    /// <summary>The version of each of these streams that exists already (a retried page's clusters).</summary>
    private async Task<Dictionary<Guid, long>> StreamVersionsAsync(Guid[] ids, CancellationToken ct)
    {
        await using var command = _dataSource.CreateCommand($"select id, version from {EventStoreRegistration.SchemaName}.mt_streams where id = any($1)");
        command.Parameters.Add(new NpgsqlParameter { Value = ids });
        var versions = new Dictionary<Guid, long>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            versions[reader.GetGuid(0)] = reader.GetInt64(1);
        }

        return versions;
    }

    private static async Task<HashSet<Guid>> ClusteredTurnsAsync(NpgsqlConnection connection, Guid[] turns, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand($"select turn_id from {TriageTables.Items} where turn_id = any($1)", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = turns });
        var found = new HashSet<Guid>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            found.Add(reader.GetGuid(0));
        }

        return found;
    }

    /// <summary>The prompt excerpts of the rated responses, from the conversation streams (redacted at ingestion).</summary>
    private static async Task<Dictionary<Guid, string>> PromptsAsync(NpgsqlConnection connection, List<IEvent<ResponseRatedRecorded>> downs, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            $"""
            select (data->>'turnId')::uuid, data->>'promptExcerpt' from {EventStoreRegistration.SchemaName}.mt_events
            where stream_id = any($1) and type = 'response_generated_recorded' and data->>'promptExcerpt' is not null
            """, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = downs.Select(d => d.StreamId).Distinct().ToArray() });
        var prompts = new Dictionary<Guid, string>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            prompts.TryAdd(reader.GetGuid(0), reader.GetString(1));
        }

        return prompts;
    }

    private static async Task<Dictionary<Guid, ClusterState>> LoadClustersAsync(
        NpgsqlConnection connection, CentroidClustering clustering, List<(string ModelId, string Capability, string Reason)> groups,
        CancellationToken ct)
    {
        // Joined on the columns, so the lookup goes through ix_tri_clusters_group (a concatenation scanned every cluster).
        await using var command = new NpgsqlCommand(
            $"""
            select cluster_id, model_id, capability, reason, centroid, size, state
            from {TriageTables.Clusters} join unnest($1::text[], $2::text[], $3::text[]) as g(model_id, capability, reason)
                using (model_id, capability, reason)
            """, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = groups.Select(g => g.ModelId).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = groups.Select(g => g.Capability).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = groups.Select(g => g.Reason).ToArray() });
        var states = new Dictionary<Guid, ClusterState>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var id = reader.GetGuid(0);
            clustering.Load(id, GroupOf(reader.GetString(1), reader.GetString(2), reader.GetString(3)), reader.GetFieldValue<float[]>(4), reader.GetInt32(5));
            states[id] = Enum.Parse<ClusterState>(reader.GetString(6), ignoreCase: true);
        }

        return states;
    }

    /// <summary>
    /// The label of each changed cluster: its most central comment (highest cosine to the centroid) among its latest
    /// items and this page's; the most central prompt excerpt when none has a comment. The latest items are read per
    /// cluster through its (cluster_id, occurred_at) index, newest first, so a page costs the same whatever the clusters'
    /// size (ranking every item of the touched clusters sorted ~100,000 rows with their embeddings per page at 10M events).
    /// </summary>
    private static async Task<Dictionary<Guid, (string Label, double Similarity)>> SuggestLabelsAsync(NpgsqlConnection connection,
        List<Member> members, CancellationToken ct)
    {
        var clusters = members.Select(m => m.Cluster).Distinct().ToDictionary(c => c.Id);
        var candidates = members.Select(m => (m.Cluster.Id, Comment: m.Item.Rating.Comment, Text: m.Item.Text, m.Vector)).ToList();
        await using (var command = new NpgsqlCommand(
            $"""
            select c.id, latest.comment, latest.text, latest.embedding
            from unnest($1::uuid[]) as c(id)
            cross join lateral (
                (select comment, coalesce(comment || ' ', '') || coalesce(prompt_excerpt, reason) as text, embedding, occurred_at, 0 as commentless
                 from {TriageTables.Items} where cluster_id = c.id and comment is not null order by occurred_at desc limit $2)
                union all
                (select comment, coalesce(prompt_excerpt, reason), embedding, occurred_at, 1
                 from {TriageTables.Items} where cluster_id = c.id and comment is null order by occurred_at desc limit $2)
                order by commentless, occurred_at desc
                limit $2) latest
            """, connection))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = clusters.Keys.ToArray() });
            command.Parameters.Add(new NpgsqlParameter { Value = LabelCandidates });
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                candidates.Add((reader.GetGuid(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetString(2), reader.GetFieldValue<float[]>(3)));
            }
        }

        return candidates.GroupBy(c => c.Id).ToDictionary(g => g.Key, g =>
        {
            var centroid = clusters[g.Key].Centroid;
            var withComments = g.Where(c => !string.IsNullOrWhiteSpace(c.Comment)).ToList();
            var best = (withComments.Count > 0 ? withComments : g.ToList())
                .Select(c => (Text: withComments.Count > 0 ? c.Comment! : c.Text, Similarity: CentroidClustering.Dot(centroid, c.Vector)))
                .MaxBy(c => c.Similarity);
            return (TextElements.Truncate(best.Text, MaxLabelLength), best.Similarity);
        });
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Cluster {ClusterId} opened in {Group}")]
    private static partial void LogOpened(ILogger logger, Guid clusterId, string group);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Clustering events {Floor}..{Ceiling} ({Items} thumbs-down) failed ({ExceptionType}); clustering them one at a time")]
    private static partial void LogPageRetriedItemByItem(ILogger logger, long floor, long ceiling, int items, string exceptionType);

    [LoggerMessage(Level = LogLevel.Error, Message = "Thumbs-down event {EventId} (sequence {Sequence}) could not be clustered ({ExceptionType}); dead-lettered in mt_doc_deadletterevent, the clusterer goes on")]
    private static partial void LogDeadLettered(ILogger logger, Guid eventId, long sequence, string exceptionType);

    [LoggerMessage(Level = LogLevel.Information, Message = "Cluster {ClusterId} reopened after {NewItems} new items")]
    private static partial void LogReopened(ILogger logger, Guid clusterId, int newItems);
}
