using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Analytics.Contracts;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Metadata;
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

    /// <summary>The earliest time a time parameter (from, to, asOf) may name: the Unix epoch.</summary>
    public static readonly DateTimeOffset EarliestInstant = new(1970, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The first time a time parameter may no longer name: windows widened to whole days still fit .NET's calendar.</summary>
    public static readonly DateTimeOffset LatestInstant = new(9999, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// A 400 naming the time parameter <paramref name="parameter"/> when <paramref name="value"/> lies outside
    /// [<see cref="EarliestInstant"/>, <see cref="LatestInstant"/>), else null: every window the API widens, defaults or
    /// compares with the one before it then stays a time .NET and PostgreSQL can hold.
    /// </summary>
    public static ProblemHttpResult? OutOfRange(string parameter, DateTimeOffset? value) =>
        value is { } instant && (instant < EarliestInstant || instant >= LatestInstant)
            ? Invalid("Time out of range", parameter, instant.ToString("O", CultureInfo.InvariantCulture),
                $"{DateTimeForm}, from 1970-01-01T00:00:00Z up to (not including) 9999-01-01T00:00:00Z")
            : null;

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
    public static ProblemDetails? FromBindingFailure(BadHttpRequestException exception, string? body, Type? bodyType = null)
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
            if (exception.InnerException is JsonException { Path: { Length: > 1 } path })
            {
                // "$.expectedVersion" → body.expectedVersion; the value as it was sent when the body is still JSON.
                var member = "body" + path.TrimStart('$');
                var memberType = MemberType(bodyType, path);
                return Details("Unreadable body member", member, ValueAt(body, path),
                    memberType is null ? $"the member as the request body's schema in the OpenAPI document declares it" : ExpectedForm(memberType));
            }

            return Details("Unreadable body", "body", body, $"a JSON object of type {unreadable.Groups["type"].Value} (see the OpenAPI document)");
        }

        return null;
    }

    /// <summary>The accepted JSON form of a body member's type.</summary>
    public static string ExpectedForm(Type type)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        return t == typeof(string) ? "a JSON string"
            : t == typeof(long) || t == typeof(int) || t == typeof(short) ? "a whole number"
            : t == typeof(double) || t == typeof(decimal) || t == typeof(float) ? "a number"
            : t == typeof(bool) ? "true or false"
            : t == typeof(Guid) ? ExpectedForm("Guid")
            : t == typeof(DateTimeOffset) || t == typeof(DateTime) ? "a JSON string with " + DateTimeForm
            : t.IsEnum ? "one of " + string.Join(", ", Enum.GetNames(t))
            : t != typeof(string) && typeof(System.Collections.IEnumerable).IsAssignableFrom(t) ? "a JSON array"
            : $"a JSON object ({t.Name})";
    }

    /// <summary>The type of the member at a JSON path ("$.a.b") of the body type: properties by name, case-insensitive.</summary>
    private static Type? MemberType(Type? bodyType, string path)
    {
        var type = bodyType;
        foreach (var segment in path.TrimStart('$').Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            type = type?.GetProperties().FirstOrDefault(p => string.Equals(p.Name, segment, StringComparison.OrdinalIgnoreCase))?.PropertyType;
        }

        return type == bodyType ? null : type;
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

        // Only a JSON body that failed to deserialize is quoted (it was read whole, within the body size limit).
        var body = badRequest.InnerException is JsonException ? await ReadBodyAsync(httpContext.Request, cancellationToken) : null;
        // The exception handler middleware clears the endpoint before handlers run; its feature keeps it.
        var endpoint = httpContext.Features.Get<IExceptionHandlerFeature>()?.Endpoint ?? httpContext.GetEndpoint();
        var bodyType = endpoint?.Metadata.GetMetadata<IAcceptsMetadata>()?.RequestType;
        var details = ParameterProblems.FromBindingFailure(badRequest, body, bodyType) ?? new ProblemDetails
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

        try
        {
            request.Body.Position = 0;
            using var reader = new StreamReader(request.Body, leaveOpen: true);
            var text = await reader.ReadToEndAsync(cancellationToken);
            return text.Length == 0 ? null : text;
        }
        catch (IOException)
        {
            return null;
        }
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

    /// <summary>
    /// Refuses an API request whose query holds a value that is not valid text (<see cref="TextRules.CheckFreeText"/>: a
    /// NUL, a control character other than tab, line feed and carriage return), which no filter could match and which
    /// PostgreSQL refuses as a parameter, with a 400 naming the parameter, before any endpoint runs. (Bytes that are not
    /// UTF-8, including encoded surrogates, reach the query already replaced by U+FFFD.) Buffers JSON request bodies so
    /// that a binding failure can quote the member's value.
    /// </summary>
    public static IApplicationBuilder UseParameterProblems(this IApplicationBuilder app) =>
        app.Use(async (context, next) =>
        {
            if (context.Request.Path.StartsWithSegments("/api") && InvalidQueryText(context.Request.Query) is { } invalid)
            {
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                await context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
                {
                    HttpContext = context,
                    ProblemDetails = ParameterProblems.Details("Unreadable parameter", invalid.Name, invalid.Value, TextRules.FreeTextForm,
                        TextRules.Explain(invalid.Name, invalid.Problem)),
                });
                return;
            }

            if (context.Request.HasJsonContentType())
            {
                context.Request.EnableBuffering();
            }

            await next(context);
        });

    private static (string Name, string Value, TextProblem Problem)? InvalidQueryText(IQueryCollection query)
    {
        foreach (var (name, values) in query)
        {
            foreach (var value in values)
            {
                if (value is not null && TextRules.CheckFreeText(value) is { } problem)
                {
                    return (name, value, problem);
                }
            }
        }

        return null;
    }
}
