using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.WebUtilities;

namespace IotOta.Gateway.Api;

/// <summary>Every error answer is an RFC 9457 problem with a detail the console can show: bad JSON, a number out of
/// range, a broken multipart body are 400s that say what is wrong; an empty 4xx (no route, 401, 405) gets a detail
/// too; an unexpected exception is a 500 problem that names its trace id (and is logged), never an empty body.</summary>
public static class ApiErrors
{
    public const string LockoutItem = "iotota.lockout";

    public static void AddIotOtaProblems(this IServiceCollection services)
    {
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.AddProblemDetails(o => o.CustomizeProblemDetails = c =>
        {
            var ctx = c.HttpContext;
            if (c.ProblemDetails.Detail != null) return;
            int status = c.ProblemDetails.Status ?? ctx.Response.StatusCode;
            c.ProblemDetails.Detail = status switch
            {
                401 when ctx.Items[LockoutItem] is TimeSpan t => $"too many failed logins from this address; locked out for {Math.Ceiling(t.TotalSeconds)} s",
                401 => "log in first (POST /api/login) or send HTTP basic credentials",
                403 => "you may not do this",
                404 => $"nothing at {ctx.Request.Method} {ctx.Request.Path}",
                405 => $"{ctx.Request.Method} is not allowed on {ctx.Request.Path}",
                413 => "the request body is too large",
                415 => "unsupported content type (the API takes application/json, and multipart/form-data for uploads)",
                _ => ReasonPhrases.GetReasonPhrase(status),
            };
        });
    }

    public static void UseIotOtaErrors(this WebApplication app)
    {
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            StatusCodeSelector = e => Classify(e).Status,
            ExceptionHandler = async ctx =>
            {
                var e = ctx.Features.Get<IExceptionHandlerFeature>()?.Error;
                var (status, title, detail) = Classify(e);
                if (status >= 500)
                {
                    string trace = ctx.TraceIdentifier;
                    ctx.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("IotOta.Api")
                        .LogError(e, "unexpected error in {Method} {Path} (trace {Trace})", ctx.Request.Method, ctx.Request.Path, trace);
                    detail = $"an unexpected error occurred (trace id {trace}); the gateway's log has the details";
                }
                await Results.Problem(detail, statusCode: status, title: title).ExecuteAsync(ctx);
            },
        });
    }

    /// <summary>Status, title and detail for an exception thrown while reading or handling a request.</summary>
    public static (int Status, string Title, string Detail) Classify(Exception? e) => e switch
    {
        ApiProblem p => (p.Status, p.Title, p.Message),
        BadHttpRequestException b when b.InnerException is JsonException j => (b.StatusCode, "Malformed JSON", $"{b.Message} {JsonDetail(j)}"),
        BadHttpRequestException b => (b.StatusCode, b.StatusCode == 400 ? "Bad request" : ReasonPhrases.GetReasonPhrase(b.StatusCode), b.Message),
        InvalidDataException d => (400, "Malformed body", $"the request body cannot be read: {d.Message}"),
        JsonException j => (400, "Malformed JSON", JsonDetail(j)),
        _ => (500, "Internal error", ""),
    };

    private static string JsonDetail(JsonException j) =>
        j.Path is { } path ? $"The value at {path} is not valid{(j.InnerException is { } i ? ": " + i.Message : ".")} ({j.Message})" : j.Message;
}
