using Analytics.Alerting;
using Analytics.Conversations;
using Analytics.Dashboards;
using Analytics.Hosting;
using Analytics.Ingesting;
using Analytics.Triage;
using JasperFx;

var builder = WebApplication.CreateBuilder(args);
builder.Host.ApplyJasperFxExtensions(); // `projections rebuild` and Marten's other commands

builder.Services.AddAnalyticsTelemetry(builder.Configuration, "analytics-worker");
// Projections:RunDaemon=false runs a worker that only ingests (e.g. to measure ingestion alone).
builder.Services.AddEventStore(builder.Configuration, runProjectionDaemon: builder.Configuration.GetValue("Projections:RunDaemon", true));
builder.Services.AddDashboardReaderRole();
builder.Services.AddProjectionHealth();
builder.Services.AddTriageClustering(builder.Configuration); // thumbs-down clusters, in the async daemon
builder.Services.AddFeedbackIngestion(builder.Configuration);
builder.Services.AddRegressionAlerts(builder.Configuration);
builder.Services.AddAnalyticsBus(builder.Configuration, bus => bus.AddFeedbackIngestionConsumers());
builder.Services.AddHealthChecks();

var app = builder.Build();

app.MapHealthChecks("/health");
app.MapPrometheusScrapingEndpoint();

return await app.RunJasperFxCommands(args);

public partial class Program;
