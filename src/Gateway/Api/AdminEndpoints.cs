using IotOta.Gateway.Rollouts;
using IotOta.Gateway.Persistence;
using Microsoft.AspNetCore.Antiforgery;

namespace IotOta.Gateway.Api;

public sealed record AntiforgeryView(string HeaderName, string Token);

public sealed record AuditPage(long Total, int Offset, int Limit, IReadOnlyList<AuditEntry> Items);

/// <summary>One page of the device list, with the values the filters can take.</summary>
public sealed record DevicePage(int Total, int Matching, int Offset, int Limit, IReadOnlyList<DeviceView> Items,
    IReadOnlyList<int> Groups, IReadOnlyList<string> States, IReadOnlyList<string> Versions);

/// <summary>The operator's tools beside the core API: the antiforgery token for the console, the audit log, and the
/// device list paged and filtered on the server (for fleets of thousands).</summary>
public static class AdminEndpoints
{
    public const int MaxPage = 500;

    public static void MapAdminApi(this WebApplication app, RouteGroupBuilder api)
    {
        api.MapGet("/antiforgery", (HttpContext ctx, IAntiforgery af) =>
        {
            var t = af.GetAndStoreTokens(ctx);
            return Results.Ok(new AntiforgeryView(RequestGuard.HeaderName, t.RequestToken!));
        }).WithTags("session").Produces<AntiforgeryView>()
            .WithDescription($"The token every state-changing request made with the console's session cookie must carry in header {RequestGuard.HeaderName}.");

        api.MapGet("/audit", (IAuditLog audit, int? offset, int? limit) =>
        {
            var (o, l) = Page(offset, limit);
            return Results.Ok(new AuditPage(audit.Count, o, l, audit.List(o, l)));
        }).WithTags("audit").Produces<AuditPage>().ProducesProblem(400)
            .WithDescription("Who did what to which image or rollout, when (newest first): logins, failed logins, lockouts, logouts, uploads, deletions, rollout actions, refused cross-origin requests.");

        api.MapGet("/devices/page", (RolloutManager m, int? offset, int? limit, int? group, string? state, string? version, bool? online, string? q) =>
        {
            var (o, l) = Page(offset, limit);
            var all = m.Devices();
            IEnumerable<DeviceView> match = all;
            if (group is { } g) match = match.Where(d => d.GroupId == g);
            if (!string.IsNullOrEmpty(state)) match = match.Where(d => string.Equals(d.State, state, StringComparison.OrdinalIgnoreCase));
            if (!string.IsNullOrEmpty(version)) match = match.Where(d => d.Version == version);
            if (online is { } on) match = match.Where(d => d.Online == on);
            if (!string.IsNullOrWhiteSpace(q)) match = match.Where(d => d.NodeId.ToString(System.Globalization.CultureInfo.InvariantCulture).Contains(q.Trim(), StringComparison.Ordinal));
            var list = match.ToList();
            return Results.Ok(new DevicePage(all.Count, list.Count, o, l, list.Skip(o).Take(l).ToList(),
                all.Select(d => d.GroupId).Distinct().Order().ToList(), all.Select(d => d.State).Distinct().Order().ToList(),
                all.Select(d => d.Version).Distinct().Order().ToList()));
        }).WithTags("fleet").Produces<DevicePage>().ProducesProblem(400)
            .WithDescription("Devices filtered by group, state, version, online and node id (q: part of the id), ordered by node id, one page at a time.");
    }

    private static (int Offset, int Limit) Page(int? offset, int? limit)
    {
        int o = offset ?? 0, l = limit ?? 100;
        if (o < 0) throw new ApiProblem(400, "Bad offset", "offset cannot be negative");
        if (l < 1 || l > MaxPage) throw new ApiProblem(400, "Bad limit", $"limit must be 1..{MaxPage}");
        return (o, l);
    }
}
