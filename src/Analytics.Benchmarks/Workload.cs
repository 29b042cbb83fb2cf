using System.Text;
using System.Text.Json;
using Analytics.Contracts;
using Analytics.Simulator;

namespace Analytics.Benchmarks;

/// <summary>One event as it goes into the COPY baseline.</summary>
public sealed record EventRow(Guid Id, Guid StreamId, string Type, string Json);

/// <summary>
/// The run's events, generated once by the traffic model and serialised once, so every scenario sends the
/// very same bytes: one event per message (a JSON object) and batches (JSON arrays).
/// </summary>
public sealed class Workload
{
    private Workload(IReadOnlyList<object> contracts, IReadOnlyList<EventRow> rows, IReadOnlyList<byte[]> singles,
        IReadOnlyList<byte[]> batches, int batchSize)
    {
        Contracts = contracts;
        Rows = rows;
        Singles = singles;
        Batches = batches;
        BatchSize = batchSize;
    }

    public IReadOnlyList<object> Contracts { get; }

    public IReadOnlyList<EventRow> Rows { get; }

    public IReadOnlyList<byte[]> Singles { get; }

    public IReadOnlyList<byte[]> Batches { get; }

    public int BatchSize { get; }

    public int Events => Rows.Count;

    public double AverageEventBytes => Singles.Average(s => (double)s.Length);

    public static Workload Generate(int events, int seed, int batchSize)
    {
        var contracts = new TrafficModel(new TrafficOptions { Seed = seed }).Generate().Take(events).ToList();
        var rows = new List<EventRow>(events);
        var singles = new List<byte[]>(events);
        foreach (var contract in contracts)
        {
            var element = FeedbackJson.ToElement(contract);
            var json = element.GetRawText();
            rows.Add(new EventRow(
                element.GetProperty("eventId").GetGuid(),
                element.GetProperty("conversationId").GetGuid(),
                element.GetProperty(FeedbackJson.TypeProperty).GetString()!,
                json));
            singles.Add(Encoding.UTF8.GetBytes(json));
        }

        var batches = new List<byte[]>((events + batchSize - 1) / batchSize);
        foreach (var chunk in rows.Chunk(batchSize))
        {
            var builder = new StringBuilder(chunk.Sum(r => r.Json.Length + 1) + 2).Append('[');
            for (var i = 0; i < chunk.Length; i++)
            {
                if (i > 0)
                {
                    builder.Append(',');
                }

                builder.Append(chunk[i].Json);
            }

            var bytes = Encoding.UTF8.GetBytes(builder.Append(']').ToString());
            using var check = JsonDocument.Parse(bytes);
            batches.Add(bytes);
        }

        return new Workload(contracts, rows, singles, batches, batchSize);
    }
}
