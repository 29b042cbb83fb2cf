using Microsoft.Extensions.FileProviders;

namespace Analytics.Api;

/// <summary>
/// The browser console (sources in src/Analytics.Console, built into wwwroot/): every page's path serves
/// wwwroot/index.html, whose script draws the page from the path and query string. Every response carries a strict
/// Content-Security-Policy (nothing but this host; no inline scripts or styles), frame-ancestors 'none' and nosniff.
/// </summary>
public static class ConsolePages
{
    /// <summary>The console's page paths (src/Analytics.Console/src/main.ts routes the same ones).</summary>
    public static readonly string[] Paths =
        ["/", "/overview", "/model", "/comparisons", "/regressions", "/clusters", "/conversations", "/conversations/{conversationId:guid}", "/pipeline"];

    public const string ContentSecurityPolicy =
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        context.Response.OnStarting(() =>
        {
            var headers = context.Response.Headers;
            headers.ContentSecurityPolicy = ContentSecurityPolicy;
            headers.XContentTypeOptions = "nosniff";
            headers.XFrameOptions = "DENY";
            headers["Referrer-Policy"] = "no-referrer";
            return Task.CompletedTask;
        });
        return next(context);
    });

    public static IEndpointRouteBuilder MapConsolePages(this IEndpointRouteBuilder app, IWebHostEnvironment environment)
    {
        foreach (var path in Paths)
        {
            // Public like the static files: the page holds no data; its API calls carry the key the user enters.
            app.MapGet(path, () => Page(environment.WebRootFileProvider)).AllowAnonymous().ExcludeFromDescription();
        }

        return app;
    }

    private static IResult Page(IFileProvider files)
    {
        var index = files.GetFileInfo("index.html");
        return index.Exists
            ? Results.Stream(index.CreateReadStream(), "text/html; charset=utf-8")
            : Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Console not built",
                detail: "wwwroot/index.html is missing: run src/Analytics.Console/build.sh.");
    }
}
