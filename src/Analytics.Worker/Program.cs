using Analytics.Conversations;
using Analytics.Hosting;
using Analytics.Ingesting;

var builder = WebApplication.CreateBuilder(args);

builder.Services.AddAnalyticsTelemetry(builder.Configuration, "analytics-worker");
builder.Services.AddEventStore(builder.Configuration, runProjectionDaemon: true);
builder.Services.AddFeedbackIngestion(builder.Configuration);
builder.Services.AddAnalyticsBus(builder.Configuration, bus => bus.AddFeedbackIngestionConsumers());
builder.Services.AddHealthChecks();

var app = builder.Build();

app.MapHealthChecks("/health");
app.MapPrometheusScrapingEndpoint();

app.Run();

public partial class Program;
