using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using IotOta.Gateway.Persistence;

namespace IotOta.Api.Tests;

/// <summary>The audit log: who did what to which image or rollout, when; kept in the database (it survives a restart
/// on SQLite) and readable through GET /api/audit.</summary>
public sealed class AuditLogTests
{
    [Fact]
    public async Task Audit_entries_are_kept_in_the_database_and_read_through_the_api()
    {
        string dir = Path.Combine(Path.GetTempPath(), "iotota-audit-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        var storage = new StorageOptions { Provider = StorageOptions.Sqlite, SqlitePath = Path.Combine(dir, "gw.db") };
        string imageId;
        try
        {
            await using (var server = await SmallServer.StartAsync(storage: storage))
            {
                using var http = Basic(server.Url);
                Assert.Equal(HttpStatusCode.Unauthorized, (await new HttpClient { BaseAddress = new Uri(server.Url) }.PostAsJsonAsync("/api/login",
                    new { user = "mallory", password = "guess-guess-guess" })).StatusCode);
                var up = await http.PostAsync("/api/images", ServerFixture.Form(ServerFixture.RandomImage(4096, 5), "4.5.6"));
                Assert.Equal(HttpStatusCode.Created, up.StatusCode);
                imageId = (string)JsonNode.Parse(await up.Content.ReadAsStringAsync())!["id"]!;
                Assert.Equal(HttpStatusCode.NoContent, (await http.DeleteAsync($"/api/images/{imageId}")).StatusCode);
            }
            // A new process on the same file reads what the first one recorded.
            await using (var server = await SmallServer.StartAsync(storage: storage))
            {
                using var http = Basic(server.Url);
                var page = JsonNode.Parse(await http.GetStringAsync("/api/audit?limit=10"))!;
                var items = page["items"]!.AsArray();
                Assert.Equal(3, (long)page["total"]!);
                // Newest first: delete, upload, failed login.
                Assert.Equal(["image.delete", "image.upload", "login.failed"], items.Select(i => (string)i!["action"]!));
                Assert.Equal(SmallServer.User, (string)items[0]!["actor"]!);
                Assert.Equal(imageId, (string)items[0]!["target"]!);
                Assert.Contains("version 4.5.6", (string)items[1]!["detail"]!);
                Assert.Equal("mallory", (string)items[2]!["actor"]!);
                Assert.Equal("127.0.0.1", (string)items[2]!["client"]!);
                Assert.True(DateTimeOffset.UtcNow - (DateTimeOffset)items[0]!["at"]! < TimeSpan.FromMinutes(5));
                var older = JsonNode.Parse(await http.GetStringAsync("/api/audit?offset=2&limit=10"))!["items"]!.AsArray();
                Assert.Equal("login.failed", (string)older.Single()!["action"]!);
            }
        }
        finally
        {
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }

    private static HttpClient Basic(string url)
    {
        var http = new HttpClient { BaseAddress = new Uri(url) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{SmallServer.User}:{SmallServer.Password}")));
        return http;
    }
}
