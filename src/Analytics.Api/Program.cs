using Analytics.Conversations;
using Analytics.Hosting;

var builder = WebApplication.CreateBuilder(args);

builder.Services.AddAnalyticsTelemetry(builder.Configuration, "analytics-api");
builder.Services.AddEventStore(builder.Configuration);
builder.Services.AddProblemDetails();
builder.Services.AddOpenApi();
builder.Services.AddHealthChecks();

var app = builder.Build();

app.UseExceptionHandler();
app.UseStatusCodePages();
app.MapOpenApi();
app.MapHealthChecks("/health");
app.MapPrometheusScrapingEndpoint();
app.MapConversationEvents();

app.Run();

public partial class Program;
