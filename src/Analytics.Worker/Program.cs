using Analytics.Alerting;
using Analytics.Conversations;
using Analytics.Dashboards;
using Analytics.Hosting;
using Analytics.Ingesting;
using Analytics.Triage;
using JasperFx;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddUnsafeDefaultsRefusal(builder.Configuration, needsUserIdKey: true); // outside Development: no dev passwords or user-id key
builder.Host.ApplyJasperFxExtensions(); // `projections rebuild` and Marten's other commands

// One binary, two roles, both on by default (docs/architecture.md, "Processes"): Ingestion:Enabled consumes the
// ingestion queue and appends; Projections:RunDaemon runs the projections and the triage clusterer (with Alerts:Enabled,
// the regression watch). run-platform.sh and docker-compose run them as two processes.
var ingests = builder.Configuration.GetValue("Ingestion:Enabled", true);
var runsDaemon = builder.Configuration.GetValue("Projections:RunDaemon", true);

builder.Services.AddAnalyticsTelemetry(builder.Configuration, "analytics-worker");
builder.Services.AddEventStore(builder.Configuration, runProjectionDaemon: runsDaemon);
builder.Services.AddDashboardReaderRole();
builder.Services.AddProjectionHealth();
builder.Services.AddTriageClustering(builder.Configuration); // thumbs-down clusters, in the async daemon
builder.Services.AddFeedbackIngestion(builder.Configuration);
builder.Services.AddRegressionAlerts(builder.Configuration);
builder.Services.AddAnalyticsBus(builder.Configuration, bus =>
{
    if (ingests)
    {
        bus.AddFeedbackIngestionConsumers();
    }
});
builder.Services.AddHealthChecks();

var app = builder.Build();

app.MapHealthChecks("/health");
app.MapPrometheusScrapingEndpoint();

return await app.RunJasperFxCommands(args);

public partial class Program;
