using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace IotOta.Cli;

/// <summary>An error answer from the gateway: its status and the problem body's title and detail.</summary>
public sealed class ApiException(HttpStatusCode status, string message) : Exception(message)
{
    public HttpStatusCode Status { get; } = status;
    /// <summary>Exit code: 2 for a request the gateway refused as invalid (4xx except auth), 1 otherwise.</summary>
    public int ExitCode => (int)Status is >= 400 and < 500 and not 401 and not 403 ? 2 : 1;
}

/// <summary>The gateway's REST API over HTTP basic authentication.</summary>
public sealed class ApiClient : IDisposable
{
    private readonly HttpClient _http;

    public ApiClient(Uri server, string user, string password, HttpMessageHandler? handler = null)
    {
        _http = handler == null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
        _http.BaseAddress = server;
        _http.Timeout = TimeSpan.FromSeconds(100);
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));
    }

    public Task<JsonNode> GetAsync(string path, CancellationToken ct) => SendAsync(new HttpRequestMessage(HttpMethod.Get, path), ct);

    public Task<JsonNode> PostJsonAsync(string path, object? body, CancellationToken ct) =>
        SendAsync(new HttpRequestMessage(HttpMethod.Post, path) { Content = body == null ? null : JsonContent.Create(body) }, ct);

    public Task<JsonNode> PushImageAsync(string file, string version, string? board, CancellationToken ct)
    {
        var form = new MultipartFormDataContent();
        var content = new ByteArrayContent(File.ReadAllBytes(file));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        form.Add(content, "file", Path.GetFileName(file));
        form.Add(new StringContent(version), "version");
        if (board != null) form.Add(new StringContent(board), "board");
        return SendAsync(new HttpRequestMessage(HttpMethod.Post, "api/images") { Content = form }, ct);
    }

    private async Task<JsonNode> SendAsync(HttpRequestMessage req, CancellationToken ct)
    {
        HttpResponseMessage res;
        try
        {
            res = await _http.SendAsync(req, ct);
        }
        catch (HttpRequestException e)
        {
            throw new ApiException(0, $"cannot reach the gateway at {_http.BaseAddress}: {e.Message}");
        }
        using (res)
        {
            string text = await res.Content.ReadAsStringAsync(ct);
            JsonNode? node = null;
            try
            {
                node = text.Length == 0 ? null : JsonNode.Parse(text);
            }
            catch (JsonException) { }
            if (!res.IsSuccessStatusCode)
            {
                string title = node?["title"]?.GetValue<string>() ?? res.ReasonPhrase ?? "error";
                string? detail = node?["detail"]?.GetValue<string>();
                string msg = res.StatusCode == HttpStatusCode.Unauthorized ? "the gateway refused the credentials (401); check --user/--password or IOTOTA_USER/IOTOTA_PASSWORD"
                    : $"{req.Method} /{req.RequestUri?.OriginalString.TrimStart('/')} failed: {(int)res.StatusCode} {title}{(detail != null ? ": " + detail : "")}";
                throw new ApiException(res.StatusCode, msg);
            }
            return node ?? new JsonObject();
        }
    }

    public void Dispose() => _http.Dispose();
}
