using Analytics.Access;
using Analytics.Api;
using Analytics.Alerting;
using Analytics.Comparisons;
using Analytics.Conversations;
using Analytics.Exporting;
using Analytics.Hosting;
using Analytics.Pipeline;
using Analytics.Satisfaction;
using Analytics.Triage;

if (NewKeyCommand.TryRun(args, Console.Out, out var newKeyExit)) // `new-key --owner NAME --role ROLE` (docs/security.md)
{
    Environment.ExitCode = newKeyExit;
    return;
}

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddUnsafeDefaultsRefusal(builder.Configuration); // outside Development: no README keys, no dev passwords

builder.Services.AddAnalyticsTelemetry(builder.Configuration, "analytics-api");
builder.Services.AddEventStore(builder.Configuration, planEachQuery: true);
builder.Services.AddSatisfactionQueries();
builder.Services.AddComparisonQueries();
builder.Services.AddTriageQueries();
builder.Services.AddPipelineStatus(builder.Configuration);
builder.Services.AddApiKeyAccess(builder.Configuration);
builder.Services.AddRequestLimits(builder.Configuration); // body/query/header sizes, rate limit per client (429)
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddProblemDetails();
// Unreadable parameters (from=yesterday, a bad route id or JSON body member) are a 400 whose problem details name the
// parameter, the value received and the expected form, never an exception page.
builder.Services.AddParameterProblems();
builder.Services.AddOpenApi();
builder.Services.AddHealthChecks();

var app = builder.Build();

app.UseSecurityHeaders(); // CSP default-src 'self', frame-ancestors 'none', nosniff
app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseRequestLimits();
app.UseStaticFiles(); // the console (wwwroot/index.html, wwwroot/console/); public: its API calls carry the key the user enters
app.UseParameterProblems();
app.UseAuthentication();
app.UseAuthorization(); // fallback policy: whatever is not opened below needs a key (ApiKeyAuthentication)
app.MapOpenApi().AllowAnonymous();
app.MapHealthChecks("/health").AllowAnonymous();
app.MapPrometheusScrapingEndpoint().AllowAnonymous();
app.MapConversationEvents();
app.MapConversationView();
app.MapSatisfactionEndpoints();
app.MapComparisonEndpoints();
app.MapPreferencePairsExport();
app.MapAlertEndpoints();
app.MapAlertDeliveryEndpoints();
app.MapTriageEndpoints();
app.MapCurrentKey();
app.MapConversationList();
app.MapPipelineStatus();
app.MapConsolePages(app.Environment);

app.Run();

public partial class Program;
