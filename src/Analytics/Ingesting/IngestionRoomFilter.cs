using System.Threading.RateLimiting;
using MassTransit;
using Microsoft.Extensions.Options;

namespace Analytics.Ingesting;

/// <summary>
/// Bounds the ingestion messages one worker process holds in memory by their size, whatever their number: a message
/// waits here, on the endpoint's receive pipe and before it is deserialized, until its body fits in
/// <see cref="IngestionOptions.MaxPendingBytes"/> together with the others being parsed, validated or waiting for the
/// <see cref="GroupCommitWriter"/>; its bytes are given back once it is consumed (stored and acknowledged, or faulted).
/// Single-event messages never wait, so many of them can share one append; 100-event messages stay within a few
/// appends' worth of events.
/// </summary>
public sealed class IngestionRoomFilter : IFilter<ReceiveContext>, IDisposable
{
    private readonly ConcurrencyLimiter _bytes;
    private readonly int _limit;

    public IngestionRoomFilter(IOptions<IngestionOptions> options)
    {
        _limit = Math.Max(options.Value.MaxPendingBytes, 1);
        _bytes = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = _limit,
            QueueLimit = int.MaxValue,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });
    }

    public async Task Send(ReceiveContext context, IPipe<ReceiveContext> next)
    {
        // A message larger than the whole budget waits until it is alone.
        var size = (int)Math.Clamp(context.Body.Length ?? 1, 1, _limit);
        using var lease = await _bytes.AcquireAsync(size, context.CancellationToken);
        if (!lease.IsAcquired)
        {
            throw new InvalidOperationException("The ingestion room filter refused a lease it queues without limit");
        }

        await next.Send(context);
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("ingestionRoom").Add("maxPendingBytes", _limit);

    public void Dispose() => _bytes.Dispose();
}
