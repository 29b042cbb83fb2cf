using System.Diagnostics;
using Analytics.Ingesting;
using Analytics.IntegrationTests;
using Npgsql;

namespace Analytics.FaultTests;

/// <summary>The ledger compared with the event store: the figures of one scenario.</summary>
public sealed record LedgerResult(string Scenario, int Published, int Confirmed, int Attempts, int Failed, int Unknown, int Stored,
    int Lost, int Duplicated, int Unexpected, double RecoverySeconds, long ViewDifferences)
{
    public bool Passed => Lost == 0 && Duplicated == 0 && Unexpected == 0 && ViewDifferences == 0;

    public override string ToString() => FormattableString.Invariant(
        $"{Scenario}: published {Published} events ({Attempts} publish attempts: {Failed} failed, {Unknown} unknown), confirmed {Confirmed}, stored {Stored}, lost {Lost}, duplicated {Duplicated}, unexpected {Unexpected}, time to recover {RecoverySeconds:0.0} s, view rows differing from the recount {ViewDifferences}");
}

/// <summary>
/// Compares a ledger with mt_events (lost = confirmed but not stored, duplicated = stored more than once,
/// unexpected = stored but never published) and the satisfaction tables with a recount from the event store.
/// </summary>
public static class LedgerAudit
{
    /// <summary>
    /// Waits until every confirmed event is stored and the projection has caught up, then until the ingest queue is
    /// quiet (nothing ready, nothing delivered and unacknowledged), so nothing in flight can still change the store.
    /// </summary>
    public static async Task DrainAsync(TestPlatform platform, LedgerProducer ledger, TimeSpan timeout, IReadOnlySet<Guid>? notExpected = null)
    {
        var expected = ledger.ConfirmedEventIds;
        if (notExpected is not null)
        {
            expected.ExceptWith(notExpected);
        }

        await TestEnvironment.WaitUntilAsync(async () =>
            {
                try
                {
                    var stored = await platform.StoredEventsAsync();
                    return expected.All(stored.ContainsKey)
                        && await platform.ReadyMessageCountAsync(IngestionTopology.Queue) == 0
                        && await platform.ProjectionCaughtUpAsync();
                }
                catch (NpgsqlException)
                {
                    return false; // the database is restarting
                }
            },
            timeout,
            async () =>
            {
                var stored = await platform.StoredEventsAsync();
                return $"{expected.Count(id => !stored.ContainsKey(id))} of {expected.Count} confirmed events not stored; " +
                       $"{await platform.ReadyMessageCountAsync(IngestionTopology.Queue)} messages ready; projection caught up: {await platform.ProjectionCaughtUpAsync()}";
            });
        await platform.WaitUntilQuietAsync(IngestionTopology.Queue, timeout);
        await TestEnvironment.WaitUntilAsync(platform.ProjectionCaughtUpAsync, timeout, () => Task.FromResult("the projection did not catch up"));
    }

    public static async Task<LedgerResult> AuditAsync(string scenario, TestPlatform platform, LedgerProducer ledger, Stopwatch sinceFault,
        IReadOnlySet<Guid>? refusedOnPurpose = null, IReadOnlySet<Guid>? excludedFromViews = null)
    {
        var recovery = sinceFault.Elapsed.TotalSeconds;
        var published = ledger.PublishedEventIds;
        var confirmed = ledger.ConfirmedEventIds;
        var expected = new HashSet<Guid>(confirmed);
        if (refusedOnPurpose is not null)
        {
            expected.ExceptWith(refusedOnPurpose);
        }

        var stored = await platform.StoredEventsAsync();
        var result = new LedgerResult(scenario,
            Published: published.Count,
            Confirmed: confirmed.Count,
            Attempts: ledger.Attempts,
            Failed: ledger.Failed,
            Unknown: ledger.Unknown,
            Stored: published.Count(stored.ContainsKey),
            Lost: expected.Count(id => !stored.ContainsKey(id)),
            Duplicated: stored.Count(s => s.Value.Count > 1),
            Unexpected: stored.Keys.Count(id => !published.Contains(id) || refusedOnPurpose?.Contains(id) == true),
            RecoverySeconds: recovery,
            ViewDifferences: await ViewRecount.DifferencesAsync(platform.ConnectionString, excludedFromViews));
        return result;
    }
}
