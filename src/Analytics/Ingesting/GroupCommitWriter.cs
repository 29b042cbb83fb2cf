using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Analytics.Ingesting;

/// <summary>
/// Group commit for the ingestion consumers: every consumed message hands its accepted events here and waits; one
/// writer loop per process takes whatever is waiting (up to <see cref="IngestionOptions.MaxEventsPerAppend"/> events
/// or <see cref="IngestionOptions.MessageLimit"/> messages) and appends it with one <see cref="FeedbackAppender"/>
/// call, so the append grows with the backlog: one message alone when traffic trickles in, thousands of one-event
/// messages in one append under load, while the next group is read and validated during the current append.
/// <para>
/// What waits here is bounded by the bytes of the messages in flight (<see cref="IngestionRoomFilter"/>). A message is acknowledged only after its
/// events' commit. When a group's append fails, its messages are appended one by one, so that a poison message
/// faults alone (retried, then parked by MassTransit) and its group-mates are stored.
/// </para>
/// </summary>
public sealed partial class GroupCommitWriter : BackgroundService
{
    private readonly Channel<PendingAppend> _pending = Channel.CreateUnbounded<PendingAppend>(
        new UnboundedChannelOptions { SingleReader = true });

    private readonly FeedbackAppender _appender;
    private readonly IngestionMetrics _metrics;
    private readonly IngestionFaults _faults;
    private readonly ILogger<GroupCommitWriter> _logger;
    private readonly IngestionOptions _options;

    public GroupCommitWriter(FeedbackAppender appender, IngestionMetrics metrics, IngestionFaults faults,
        IOptions<IngestionOptions> options, ILogger<GroupCommitWriter> logger)
    {
        _appender = appender;
        _metrics = metrics;
        _faults = faults;
        _logger = logger;
        _options = options.Value;
    }

    /// <summary>Appends one message's accepted events with whatever else is waiting; completes after their commit.</summary>
    public async Task<AppendOutcome> AppendAsync(IReadOnlyList<AcceptedEvent> events, ActivityContext? consume, CancellationToken cancellationToken)
    {
        var pending = new PendingAppend(events, consume);
        if (!_pending.Writer.TryWrite(pending))
        {
            throw new EventStoreUnavailableException("The ingestion writer has stopped");
        }

        return await pending.Completion.Task.WaitAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var reader = _pending.Reader;
        var group = new List<PendingAppend>();
        try
        {
            while (true)
            {
                var wasIdle = !reader.TryPeek(out _);
                if (!await reader.WaitToReadAsync(stoppingToken))
                {
                    break;
                }

                if (wasIdle && _options.LingerMs > 0)
                {
                    // Traffic that trickles in: let the first message wait a little for company (a backlog never waits).
                    await Task.Delay(_options.LingerMs, stoppingToken);
                }

                TakeGroup(reader, group);
                if (group.Count > 0)
                {
                    await AppendGroupAsync(group, stoppingToken);
                    group.Clear();
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            // Not stored: their messages are not acknowledged, and the broker delivers them again.
            _pending.Writer.TryComplete();
            foreach (var left in group)
            {
                left.Completion.TrySetCanceled(stoppingToken);
            }

            while (reader.TryRead(out var left))
            {
                left.Completion.TrySetCanceled(stoppingToken);
            }
        }
    }

    private void TakeGroup(ChannelReader<PendingAppend> reader, List<PendingAppend> group)
    {
        var events = 0;
        while (group.Count < _options.MessageLimit && reader.TryPeek(out var next)
               && (group.Count == 0 || events + next.Events.Count <= _options.MaxEventsPerAppend)
               && reader.TryRead(out next))
        {
            group.Add(next);
            events += next.Events.Count;
        }
    }

    private async Task AppendGroupAsync(List<PendingAppend> group, CancellationToken stoppingToken)
    {
        var events = group.Count == 1 ? group[0].Events : group.SelectMany(p => p.Events).ToList();
        using var append = IngestionTracing.StartAppend(events.Count, group.Count, group.Select(p => p.Consume));
        try
        {
            var outcome = await CommitAsync(events, group.Count, stoppingToken);
            IngestionTracing.RecordOutcome(append, outcome);
            foreach (var pending in group)
            {
                pending.Completion.TrySetResult(outcome);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
        {
            append?.SetStatus(ActivityStatusCode.Error, ex.GetType().Name);
            if (group.Count == 1)
            {
                group[0].Completion.TrySetException(Translate(ex, events.Count));
                return;
            }

            // One message must not hold back the others of its group: append them one by one, so the group-mates are
            // stored now and only the failing message faults (retried, then parked: a replay skips what is stored).
            LogGroupFailed(_logger, group.Count, events.Count, ex.GetType().Name, ex.Message);
            await AppendOneByOneAsync(group, stoppingToken);
        }
    }

    private async Task AppendOneByOneAsync(List<PendingAppend> group, CancellationToken stoppingToken)
    {
        foreach (var pending in group)
        {
            try
            {
                pending.Completion.TrySetResult(await CommitAsync(pending.Events, 1, stoppingToken));
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                pending.Completion.TrySetException(Translate(ex, pending.Events.Count));
            }
        }
    }

    /// <summary>One append and commit (the fault hooks around it); the appender counts stored events at each commit, this the duplicates and timings.</summary>
    private async Task<AppendOutcome> CommitAsync(IReadOnlyList<AcceptedEvent> events, int messages, CancellationToken stoppingToken)
    {
        var started = Stopwatch.GetTimestamp();
        _faults.ThrowIfPoisoned(events.Select(e => e.EventId));
        var outcome = await _appender.AppendAsync(events, stoppingToken);
        _faults.AfterCommit();
        _metrics.Appended(events.Count, messages, Stopwatch.GetElapsedTime(started));
        _metrics.Duplicates(outcome.Duplicates);
        return outcome;
    }

    /// <summary>Store exceptions can hold NpgsqlCommand graphs that break fault serialization: only their text leaves.</summary>
    private static Exception Translate(Exception ex, int events) => ex is PoisonEventException or EventStoreUnavailableException
        ? ex
        : new EventStoreUnavailableException($"Appending {events} events failed: {ex.GetType().Name}: {ex.Message}");

    private sealed class PendingAppend(IReadOnlyList<AcceptedEvent> events, ActivityContext? consume)
    {
        public IReadOnlyList<AcceptedEvent> Events { get; } = events;

        public ActivityContext? Consume { get; } = consume;

        public TaskCompletionSource<AppendOutcome> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Appending a group of {Messages} messages ({Events} events) failed ({ExceptionType}: {Reason}); appending them one by one")]
    private static partial void LogGroupFailed(ILogger logger, int messages, int events, string exceptionType, string reason);
}
