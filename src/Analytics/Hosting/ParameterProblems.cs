using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Analytics.Hosting;

/// <summary>
/// Every 400 about a parameter names it: problem details with the extensions <c>parameter</c> (its name; a JSON body's
/// member as <c>body.member</c>), <c>value</c> (what the request sent, cut at <see cref="MaxValueLength"/> characters;
/// null when it sent none) and <c>expected</c> (the form that would be accepted). Endpoints return
/// <see cref="Invalid"/> for the checks they make; <see cref="BindingFailureHandler"/> does the same for values the
/// framework could not bind (query, route, header or body), whatever the endpoint.
/// </summary>
public static partial class ParameterProblems
{
    public const int MaxValueLength = 200;

    public const string DateTimeForm = "an ISO 8601 date-time with a UTC offset, e.g. 2026-11-20T09:00:00Z";

    public static ProblemHttpResult Invalid(string title, string parameter, string? value, string expected, string? detail = null) =>
        TypedResults.Problem(Details(title, parameter, value, expected, detail));

    public static ProblemDetails Details(string title, string parameter, string? value, string expected, string? detail = null)
    {
        var shown = value is { Length: > MaxValueLength } ? value[..MaxValueLength] + "…" : value;
        return new ProblemDetails
        {
            Status = StatusCodes.Status400BadRequest,
            Title = title,
            Detail = detail ?? (shown is null ? $"{parameter} is missing; expected {expected}." : $"{parameter} was '{shown}'; expected {expected}."),
            Extensions = { ["parameter"] = parameter, ["value"] = shown, ["expected"] = expected },
        };
    }

    /// <summary>The accepted form of a parameter type as the framework names it in its binding errors ("DateTimeOffset?", "Guid", "int").</summary>
    public static string ExpectedForm(string typeName) => typeName.TrimEnd('?') switch
    {
        "DateTimeOffset" or "Nullable<DateTimeOffset>" or "DateTime" or "Nullable<DateTime>" => DateTimeForm,
        "Guid" or "Nullable<Guid>" => "a UUID, e.g. 3f2b8c1e-9a4d-4c7e-8f10-2b6a5d9e0c11",
        "int" or "Nullable<int>" or "Int32" => "a whole number (32-bit)",
        "long" or "Nullable<long>" or "Int64" => "a whole number (64-bit)",
        "bool" or "Nullable<bool>" or "Boolean" => "true or false",
        "double" or "Nullable<double>" or "Double" => "a number, e.g. 0.5",
        var other => $"a value of type {other}",
    };

    [GeneratedRegex("""^Failed to bind parameter "(?<type>.+) (?<name>[^ "]+)" from "(?<value>.*)"\.$""", RegexOptions.Singleline)]
    private static partial Regex BindFailure();

    [GeneratedRegex("""^Required parameter "(?<type>.+) (?<name>[^ "]+)" was not provided from (?<source>.+)\.$""", RegexOptions.Singleline)]
    private static partial Regex RequiredMissing();

    [GeneratedRegex("""^Failed to read parameter "(?<type>.+) (?<name>[^ "]+)" from the request body as JSON\.$""", RegexOptions.Singleline)]
    private static partial Regex BodyUnreadable();

    /// <summary>
    /// Problem details for the framework's binding failures (<see cref="BadHttpRequestException"/> from minimal API
    /// binding, thrown because RouteHandlerOptions.ThrowOnBadRequest is on); null for any other bad request.
    /// </summary>
    public static ProblemDetails? FromBindingFailure(BadHttpRequestException exception, string? body)
    {
        if (BindFailure().Match(exception.Message) is { Success: true } bind)
        {
            return Details("Unreadable parameter", bind.Groups["name"].Value, bind.Groups["value"].Value, ExpectedForm(bind.Groups["type"].Value));
        }

        if (RequiredMissing().Match(exception.Message) is { Success: true } missing)
        {
            return Details("Missing parameter", missing.Groups["name"].Value, null, ExpectedForm(missing.Groups["type"].Value));
        }

        if (BodyUnreadable().Match(exception.Message) is { Success: true } unreadable)
        {
            if (exception.InnerException is JsonException { Path: { Length: > 1 } path } json)
            {
                // "$.expectedVersion" → body.expectedVersion; the value as it was sent when the body is still JSON.
                var member = "body" + path.TrimStart('$');
                return Details("Unreadable body member", member, ValueAt(body, path),
                    ExpectedFromJson(json.Message) ?? $"the member as {unreadable.Groups["type"].Value} declares it (see the OpenAPI document)");
            }

            return Details("Unreadable body", "body", body, $"a JSON object of type {unreadable.Groups["type"].Value} (see the OpenAPI document)");
        }

        return null;
    }

    private static string? ExpectedFromJson(string message)
    {
        // System.Text.Json: "The JSON value could not be converted to System.Int64. Path: $.x | LineNumber: 0 | ...".
        const string Prefix = "The JSON value could not be converted to ";
        if (!message.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var type = message[Prefix.Length..].Split(". Path:", 2)[0];
        var shortName = type.Split('.')[^1].Replace("Nullable`1[[", string.Empty, StringComparison.Ordinal);
        return shortName.Contains("Int64", StringComparison.Ordinal) ? "a whole number (64-bit)"
            : shortName.Contains("Int32", StringComparison.Ordinal) ? "a whole number (32-bit)"
            : shortName.Contains("Guid", StringComparison.Ordinal) ? ExpectedForm("Guid")
            : shortName.Contains("DateTimeOffset", StringComparison.Ordinal) ? DateTimeForm
            : shortName.Contains("Boolean", StringComparison.Ordinal) ? "true or false"
            : shortName.Contains("String", StringComparison.Ordinal) ? "a JSON string"
            : $"a JSON value of type {shortName}";
    }

    private static string? ValueAt(string? body, string path)
    {
        if (body is null)
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(body);
            var element = document.RootElement;
            foreach (var segment in path.TrimStart('$').Split('.', StringSplitOptions.RemoveEmptyEntries))
            {
                if (element.ValueKind != JsonValueKind.Object || !TryGetCaseInsensitive(element, segment, out element))
                {
                    return null;
                }
            }

            return element.GetRawText();
        }
        catch (JsonException)
        {
            return body;
        }
    }

    private static bool TryGetCaseInsensitive(JsonElement element, string name, out JsonElement value)
    {
        foreach (var property in element.EnumerateObject())
        {
            if (string.Equals(property.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                value = property.Value;
                return true;
            }
        }

        value = default;
        return false;
    }
}

/// <summary>
/// Turns the framework's binding failures into problem details that name the parameter, the value received and the
/// expected form (<see cref="ParameterProblems"/>). Registered with AddExceptionHandler; the binding failure reaches it
/// because the API sets RouteHandlerOptions.ThrowOnBadRequest. JSON bodies are buffered (they are small: RequestLimits)
/// so the member's value can be quoted.
/// </summary>
public sealed class BindingFailureHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not BadHttpRequestException badRequest || httpContext.Response.HasStarted)
        {
            return false;
        }

        var body = await ReadBodyAsync(httpContext.Request, cancellationToken);
        var details = ParameterProblems.FromBindingFailure(badRequest, body) ?? new ProblemDetails
        {
            Status = badRequest.StatusCode,
            Title = "Bad request",
            Detail = badRequest.StatusCode == StatusCodes.Status400BadRequest ? "The request could not be read." : null,
        };
        httpContext.Response.StatusCode = details.Status ?? StatusCodes.Status400BadRequest;
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = httpContext, ProblemDetails = details, Exception = exception });
    }

    private static async Task<string?> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (!request.Body.CanSeek)
        {
            return null;
        }

        request.Body.Position = 0;
        using var reader = new StreamReader(request.Body, leaveOpen: true);
        var text = await reader.ReadToEndAsync(cancellationToken);
        return text.Length == 0 ? null : text;
    }
}

public static class ParameterProblemsRegistration
{
    /// <summary>Binding failures throw (RouteHandlerOptions.ThrowOnBadRequest) and become problem details naming the parameter.</summary>
    public static IServiceCollection AddParameterProblems(this IServiceCollection services)
    {
        services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        return services.AddExceptionHandler<BindingFailureHandler>();
    }

    /// <summary>Buffers JSON request bodies so that a binding failure can quote the member's value.</summary>
    public static IApplicationBuilder UseParameterProblems(this IApplicationBuilder app) =>
        app.Use((context, next) =>
        {
            if (context.Request.HasJsonContentType())
            {
                context.Request.EnableBuffering();
            }

            return next(context);
        });
}
