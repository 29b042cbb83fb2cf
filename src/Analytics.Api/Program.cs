using Analytics.Conversations;
using Analytics.Hosting;
using Analytics.Satisfaction;

var builder = WebApplication.CreateBuilder(args);

builder.Services.AddAnalyticsTelemetry(builder.Configuration, "analytics-api");
builder.Services.AddEventStore(builder.Configuration);
builder.Services.AddSatisfactionQueries();
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
app.MapSatisfactionEndpoints();

app.Run();

public partial class Program;
