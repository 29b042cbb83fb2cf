using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace Analytics.IntegrationTests;

/// <summary>
/// A webhook receiver for the alert tests, on a port of its own (port 0): it keeps the JSON body of every POST to
/// <see cref="Url"/>. One started down answers 503 until <see cref="BringUp"/>, as a receiver that is down, then up.
/// </summary>
public sealed class AlertWebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly TaskCompletionSource _up = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private AlertWebhookReceiver()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _app = builder.Build();
        _app.MapPost("/hook", async (HttpRequest request) =>
        {
            if (!_up.Task.IsCompleted)
            {
                return Results.StatusCode(StatusCodes.Status503ServiceUnavailable);
            }

            Bodies.Enqueue(await JsonSerializer.DeserializeAsync<JsonElement>(request.Body));
            return Results.Ok();
        });
    }

    /// <summary>The bodies received so far, in order.</summary>
    public ConcurrentQueue<JsonElement> Bodies { get; } = new();

    public string Url => _app.Urls.Single() + "/hook";

    public static async Task<AlertWebhookReceiver> StartAsync(bool down = false)
    {
        var receiver = new AlertWebhookReceiver();
        if (!down)
        {
            receiver.BringUp();
        }

        await receiver._app.StartAsync();
        return receiver;
    }

    /// <summary>From now on the receiver accepts what is posted to it.</summary>
    public void BringUp() => _up.TrySetResult();

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
