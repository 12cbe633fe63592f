using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace IotOta.Gateway.Api;

/// <summary>Marks the upload endpoint, whose multipart fields the OpenAPI document describes.</summary>
public sealed class UploadFormMetadata;

/// <summary>The OpenAPI document (GET /openapi/v1.json): both security schemes (the console's session cookie and HTTP
/// basic for the CLI) and which operations need them; the upload's multipart fields.</summary>
public static class OpenApiSetup
{
    public const string CookieScheme = "sessionCookie", BasicScheme = "basic";

    public static void AddIotOtaOpenApi(this IServiceCollection services) => services.AddOpenApi(o =>
    {
        o.AddDocumentTransformer((doc, _, _) =>
        {
            doc.Info.Title = "IotOta gateway API";
            doc.Info.Description = "Images, devices, groups, rollouts, their event stream and the audit log. State-changing requests from a browser " +
                $"must come from this origin and, with the session cookie, carry header {RequestGuard.HeaderName} (GET /api/antiforgery).";
            doc.Components ??= new OpenApiComponents();
            doc.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            doc.Components.SecuritySchemes[CookieScheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.ApiKey, In = ParameterLocation.Cookie, Name = "iotota.auth",
                Description = "Session cookie from POST /api/login, revoked by POST /api/logout",
            };
            doc.Components.SecuritySchemes[BasicScheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http, Scheme = "basic", Description = "The operator's user and password (the CLI's way in)",
            };
            return Task.CompletedTask;
        });
        // Doubles may be NaN/Infinity (JsonNumberHandling.AllowNamedFloatingPointLiterals): the generator describes them as
        // anyOf [number, the names] but also says "type": "object", which no number matches. Drop that type.
        // A double? (e.g. boundSeconds) loses its null on the way: add it back as a branch.
        o.AddSchemaTransformer((schema, ctx, _) =>
        {
            if (schema.AnyOf is { Count: > 0 } any && any.Any(a => a.Type == JsonSchemaType.Number))
            {
                if (schema.Type == JsonSchemaType.Object) schema.Type = null;
                var clr = ctx.JsonPropertyInfo?.PropertyType ?? ctx.JsonTypeInfo.Type;
                if (Nullable.GetUnderlyingType(clr) != null && !any.Any(a => a.Type == JsonSchemaType.Null))
                    any.Add(new OpenApiSchema { Type = JsonSchemaType.Null });
            }
            return Task.CompletedTask;
        });
        o.AddOperationTransformer((op, ctx, _) =>
        {
            var meta = ctx.Description.ActionDescriptor.EndpointMetadata;
            if (meta.OfType<IAuthorizeData>().Any() && !meta.OfType<IAllowAnonymous>().Any())
            {
                op.Security ??= new List<OpenApiSecurityRequirement>();
                op.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(CookieScheme, ctx.Document)] = [] });
                op.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BasicScheme, ctx.Document)] = [] });
            }
            if (meta.OfType<UploadFormMetadata>().Any())
            {
                op.RequestBody = new OpenApiRequestBody
                {
                    Required = true,
                    Content = new Dictionary<string, OpenApiMediaType>
                    {
                        ["multipart/form-data"] = new OpenApiMediaType
                        {
                            Schema = new OpenApiSchema
                            {
                                Type = JsonSchemaType.Object,
                                Required = new HashSet<string> { "file", "version" },
                                Properties = new Dictionary<string, IOpenApiSchema>
                                {
                                    ["file"] = new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary", Description = "the firmware image" },
                                    ["version"] = new OpenApiSchema { Type = JsonSchemaType.String, Pattern = @"^\d+\.\d+\.\d+$", Description = "major.minor.patch" },
                                    ["board"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "board target (default esp32)" },
                                },
                            },
                        },
                    },
                };
            }
            return Task.CompletedTask;
        });
    });
}
