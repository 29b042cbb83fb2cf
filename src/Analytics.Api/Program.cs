using Analytics.Access;
using Analytics.Alerting;
using Analytics.Comparisons;
using Analytics.Conversations;
using Analytics.Exporting;
using Analytics.Hosting;
using Analytics.Satisfaction;
using Analytics.Triage;

var builder = WebApplication.CreateBuilder(args);

builder.Services.AddAnalyticsTelemetry(builder.Configuration, "analytics-api");
builder.Services.AddEventStore(builder.Configuration);
builder.Services.AddSatisfactionQueries();
builder.Services.AddComparisonQueries();
builder.Services.AddTriageQueries();
builder.Services.AddApiKeyAccess(builder.Configuration);
builder.Services.AddRequestLimits(builder.Configuration); // body/query/header sizes, rate limit per client (429)
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddProblemDetails();
// Unparseable query parameters (from=yesterday) are a 400 with problem details, never an exception page.
builder.Services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = false);
builder.Services.AddOpenApi();
builder.Services.AddHealthChecks();

var app = builder.Build();

app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseRequestLimits();
app.UseAuthentication();
app.UseAuthorization();
app.UseStaticFiles(); // the triage page: wwwroot/triage/
app.MapOpenApi();
app.MapHealthChecks("/health");
app.MapPrometheusScrapingEndpoint();
app.MapConversationEvents();
app.MapConversationView();
app.MapSatisfactionEndpoints();
app.MapComparisonEndpoints();
app.MapPreferencePairsExport();
app.MapAlertEndpoints();
app.MapTriageEndpoints();

app.Run();

public partial class Program;
