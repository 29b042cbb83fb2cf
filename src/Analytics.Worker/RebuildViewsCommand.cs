using System.Globalization;
using Analytics.Satisfaction;
using JasperFx.CommandLine;
using Npgsql;

namespace Analytics.Worker;

/// <summary>
/// <c>dotnet Analytics.Worker.dll rebuild-views</c>: the satisfaction views rebuilt from the event store with set-based
/// SQL (<see cref="SatisfactionRebuild"/>), several times faster than Marten's <c>projections rebuild</c>, which
/// replays the same projection page by page through the daemon and gives the same tables.
/// </summary>
[Description("Rebuilds the satisfaction views from the event store with set-based SQL (stop the projection workers first)", Name = "rebuild-views")]
public sealed class RebuildViewsCommand : JasperFxAsyncCommand<NetCoreInput>
{
    public override async Task<bool> Execute(NetCoreInput input)
    {
        using var host = input.BuildHost();
        var rebuild = ActivatorUtilities.CreateInstance<SatisfactionRebuild>(host.Services);
        try
        {
            var result = await rebuild.RunAsync(p => Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  events up to sequence {p.Replayed:N0} of {p.Ceiling:N0} replayed, {p.Elapsed.TotalSeconds:0.0} s")), CancellationToken.None);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Rebuilt the satisfaction views from the events up to sequence {result.Ceiling:N0} in {result.Elapsed.TotalSeconds:0.0} s ({result.Chunks} chunks); the projection daemon goes on from there."));
            return true;
        }
        catch (InvalidOperationException refused)
        {
            await Console.Error.WriteLineAsync(refused.Message);
            return false;
        }
        catch (PostgresException missing) when (missing.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            await Console.Error.WriteLineAsync(
                $"The event store's tables are not in this database ({missing.MessageText}): start the worker once against it, it creates them.");
            return false;
        }
    }
}
