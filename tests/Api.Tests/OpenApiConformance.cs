using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;

namespace IotOta.Api.Tests;

/// <summary>Checks answers against the server's own OpenAPI document: the status must be listed for the operation, the
/// content type listed for that status, and the body valid against its schema (JSON Schema 2020-12, JsonSchema.Net).
/// Remembers which operations were exercised.</summary>
public sealed class OpenApiConformance(JsonNode doc)
{
    private readonly Dictionary<string, JsonSchema> _schemas = new();
    public HashSet<string> Exercised { get; } = new();
    public JsonNode Document => doc;

    public IEnumerable<string> Operations()
    {
        foreach (var (path, item) in doc["paths"]!.AsObject())
            foreach (var (method, _) in item!.AsObject())
                yield return $"{method.ToUpperInvariant()} {path}";
    }

    public async Task<string> CheckAsync(HttpResponseMessage res, string method, string template)
    {
        string body = await res.Content.ReadAsStringAsync();
        Check((int)res.StatusCode, res.Content.Headers.ContentType?.MediaType, body, method, template);
        return body;
    }

    public void Check(int status, string? mediaType, string body, string method, string template)
    {
        string op = $"{method.ToUpperInvariant()} {template}";
        var operation = doc["paths"]?[template]?[method.ToLowerInvariant()] ?? throw new Xunit.Sdk.XunitException($"{op} is not in the OpenAPI document");
        var response = operation["responses"]?[status.ToString(System.Globalization.CultureInfo.InvariantCulture)]
            ?? throw new Xunit.Sdk.XunitException($"{op} answered {status}, which the OpenAPI document does not list (it lists {string.Join(", ", operation["responses"]!.AsObject().Select(p => p.Key))}): {Cut(body)}");
        Exercised.Add(op);
        if (string.IsNullOrEmpty(body)) return;
        var content = response["content"]?.AsObject() ?? throw new Xunit.Sdk.XunitException($"{op} {status} has a body but the document lists no content: {Cut(body)}");
        if (mediaType == null || !content.ContainsKey(mediaType))
            throw new Xunit.Sdk.XunitException($"{op} {status} answered {mediaType}; the document lists {string.Join(", ", content.Select(c => c.Key))}");
        var schemaNode = content[mediaType]!["schema"];
        Assert.True(schemaNode != null, $"{op} {status} {mediaType} has no schema");
        if (mediaType == "text/event-stream")
        {
            foreach (string data in body.Split('\n').Where(l => l.StartsWith("data: ", StringComparison.Ordinal)).Select(l => l[6..]))
                Validate(schemaNode!, data, $"{op} event");
            return;
        }
        if (mediaType.Contains("json", StringComparison.Ordinal)) Validate(schemaNode!, body, $"{op} {status}");
    }

    private void Validate(JsonNode schemaNode, string json, string what)
    {
        string key = schemaNode.ToJsonString();
        if (!_schemas.TryGetValue(key, out var schema))
        {
            // Component references become $defs of one self-contained JSON Schema.
            var root = JsonNode.Parse(key.Replace("#/components/schemas/", "#/$defs/", StringComparison.Ordinal))!.AsObject();
            if (root.ContainsKey("$ref")) root = new JsonObject { ["allOf"] = new JsonArray(root) };
            var defs = doc["components"]?["schemas"]?.ToJsonString() ?? "{}";
            root["$defs"] = JsonNode.Parse(defs.Replace("#/components/schemas/", "#/$defs/", StringComparison.Ordinal));
            root["$schema"] = "https://json-schema.org/draft/2020-12/schema";
            schema = _schemas[key] = JsonSchema.FromText(root.ToJsonString());
        }
        var result = schema.Evaluate(JsonNode.Parse(json), new EvaluationOptions { OutputFormat = OutputFormat.List });
        if (!result.IsValid)
        {
            var errors = result.Details.Where(d => d.Errors != null).SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation} ({d.EvaluationPath}): {e.Value}")).Take(12);
            throw new Xunit.Sdk.XunitException($"{what}: the body does not match its schema: {string.Join("; ", errors)}\n{Cut(json)}");
        }
    }

    private static string Cut(string s) => s.Length > 600 ? s[..600] + "…" : s;
}
