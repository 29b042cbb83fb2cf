using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Analytics.Ingesting;

/// <summary>
/// Fault hooks for the reliability suite (tests/Analytics.FaultTests, docs/reliability.md), configuration section
/// "Faults". Every hook is off by default and only a test or an operator rehearsing a failure turns one on.
/// <list type="bullet">
/// <item><c>Faults:KillBeforeCommitOnAppend=N</c>: the process SIGKILLs itself inside its N-th append transaction,
/// after the events were written and before the commit.</item>
/// <item><c>Faults:KillAfterCommitOnAppend=N</c>: the process SIGKILLs itself after its N-th group commit (<see cref="GroupCommitWriter"/>)
/// and before its messages were acknowledged.</item>
/// <item><c>Faults:ThrowOnEventId=guid</c>: an append holding that eventId throws (a poison message).</item>
/// <item><c>Faults:ThrowWhileReadingEventId=guid</c>: reading the event with that eventId throws, so the consumer refuses
/// it alone as <c>unreadable</c> (no input from the wire is known to make the reader throw; this shows the path works).</item>
/// </list>
/// </summary>
public sealed class IngestionFaultOptions
{
    public int KillBeforeCommitOnAppend { get; set; }

    public int KillAfterCommitOnAppend { get; set; }

    public Guid? ThrowOnEventId { get; set; }

    public Guid? ThrowWhileReadingEventId { get; set; }
}

public sealed class IngestionFaults(IOptions<IngestionFaultOptions> options)
{
    private readonly IngestionFaultOptions _options = options.Value;
    private int _transactions;
    private int _batches;

    /// <summary>Inside an append transaction, before its commit.</summary>
    public void BeforeCommit()
    {
        if (_options.KillBeforeCommitOnAppend > 0 && Interlocked.Increment(ref _transactions) == _options.KillBeforeCommitOnAppend)
        {
            KillSelf("before commit");
        }
    }

    /// <summary>After a group's commit, before its messages are acknowledged.</summary>
    public void AfterCommit()
    {
        if (_options.KillAfterCommitOnAppend > 0 && Interlocked.Increment(ref _batches) == _options.KillAfterCommitOnAppend)
        {
            KillSelf("after commit, before ack");
        }
    }

    /// <summary>Throws when the append holds the configured poison eventId.</summary>
    public void ThrowIfPoisoned(IEnumerable<Guid> eventIds)
    {
        if (_options.ThrowOnEventId is { } poison && eventIds.Contains(poison))
        {
            throw new PoisonEventException($"Fault injection: event {poison} is configured to fail (Faults:ThrowOnEventId)");
        }
    }

    /// <summary>Throws while the configured eventId is read, before it is validated.</summary>
    public void ThrowIfUnreadable(JsonElement raw)
    {
        if (_options.ThrowWhileReadingEventId is { } unreadable && raw.ValueKind == JsonValueKind.Object
            && raw.TryGetProperty("eventId", out var id) && id.ValueKind == JsonValueKind.String && id.ValueEquals(unreadable.ToString()))
        {
            throw new UnreadableEventException($"Fault injection: event {unreadable} is configured to fail while read (Faults:ThrowWhileReadingEventId)");
        }
    }

    private static void KillSelf(string where)
    {
        Console.Error.WriteLine($"FAULT-INJECTION: killing the worker {where} (pid {Environment.ProcessId})");
        Console.Error.Flush();
        Process.GetCurrentProcess().Kill();
    }
}

/// <summary>Thrown by the <c>Faults:ThrowOnEventId</c> hook.</summary>
public sealed class PoisonEventException(string message) : Exception(message);

/// <summary>Thrown by the <c>Faults:ThrowWhileReadingEventId</c> hook.</summary>
public sealed class UnreadableEventException(string message) : Exception(message);
