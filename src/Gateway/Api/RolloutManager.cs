using System.Security.Cryptography;
using System.Text;
using IotOta.Gateway.Fleet;
using IotOta.Gateway.Images;
using IotOta.Gateway.Rollouts;
using IotOta.Gateway.Scheduling;
using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Api;

/// <summary>
/// Images and rollouts as the operator drives them: uploads are signed with the gateway's key; a rollout runs its
/// phases (canary groups, then the rest) one after the other through <see cref="GatewayNode.RunRolloutAsync"/>, and
/// can be paused, resumed and aborted.
/// </summary>
public sealed class RolloutManager(GatewayNode gateway, ManifestSigner signer, IImageStore images, IRolloutStore rollouts, RolloutManagerOptions options)
{
    private readonly object _gate = new();
    // Ids go on from the stored rollouts (a durable store outlives this object).
    private int _nextRollout = rollouts.List().Select(x => int.TryParse(x.Id.AsSpan(1), out int n) ? n : 0).DefaultIfEmpty(0).Max();

    public GatewayNode Gateway => gateway;
    public IImageStore Images => images;
    public IRolloutStore Rollouts => rollouts;
    public RolloutManagerOptions Options => options;
    private TimeProvider Time => options.Time ?? TimeProvider.System;
    private RolloutCampaignOptions CampaignOptions => new()
    {
        Scheduler = options.Scheduler,
        ResumedPhaseRepairReplies = options.ResumedPhaseRepairReplies,
        Log = options.Log,
        Time = Time,
    };

    public StoredImage AddImage(byte[] bytes, string? versionText, string? board, string? fileName)
    {
        if (bytes.Length == 0) throw new ApiProblem(400, "Empty image", "the uploaded file is empty");
        if (bytes.Length > options.MaxImageBytes)
            throw new ApiProblem(413, "Image too large", $"the image has {bytes.Length} bytes; the limit is {options.MaxImageBytes} bytes");
        if (string.IsNullOrWhiteSpace(versionText)) throw new ApiProblem(400, "Missing version", "the form field 'version' (major.minor.patch) is required");
        FirmwareVersion version;
        try
        {
            version = FirmwareVersion.Parse(versionText.Trim());
        }
        catch (ArgumentException e)
        {
            throw new ApiProblem(400, "Bad version", $"'{versionText}' is not a version major.minor.patch (each 0..65535): {e.Message}");
        }
        board = string.IsNullOrWhiteSpace(board) ? options.DefaultBoard : board.Trim();
        if (board.Length > 64 || !board.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            throw new ApiProblem(400, "Bad board target", "the board target may hold letters, digits, '-', '_' and '.' (at most 64)");
        // The image id names the image to the devices; derive it from bytes and version so that the same bytes under a
        // new version are a new image to them.
        byte[] idHash = SHA256.HashData(Encoding.UTF8.GetBytes(Convert.ToHexString(SHA256.HashData(bytes)) + "/" + version + "/" + board));
        uint imageId = BitConverter.ToUInt32(idHash, 0) | 1;
        // An upload for a board the gateway has a profile for is cut to that board's largest chunk and must fit its slot.
        int chunkSize = options.ChunkSize;
        if (KnownBoards.Find(board) is { } profile)
        {
            chunkSize = Math.Min(chunkSize, profile.MaxChunkSize);
            if (ImageFit.Problem(bytes.Length, chunkSize, profile.Name, profile.SlotSize, profile.MaxChunkSize) is { } why)
                throw new ApiProblem(400, "Image does not fit", why);
        }
        var image = FirmwareImage.Create(bytes, version, signer, chunkSize, imageId: imageId);
        var stored = new StoredImage(imageId.ToString("x8"), version.ToString(), board, bytes.Length, image.ChunkSize, image.ChunkCount,
            Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant(), Time.GetUtcNow(), fileName) { Image = image };
        if (!images.TryAdd(stored)) throw new ApiProblem(409, "Duplicate image", $"an image with version {version} for board '{board}' is already stored");
        return stored;
    }

    public void DeleteImage(string id)
    {
        if (images.Get(id) == null) throw new ApiProblem(404, "No such image", $"image '{id}' is not stored");
        if (rollouts.List().Any(r => r.ImageId == id && RolloutStates.IsActive(r.State)))
            throw new ApiProblem(409, "Image in use", $"image '{id}' is being rolled out; abort that rollout first");
        images.Remove(id);
    }

    /// <summary>Finds an image by id or by version (the newest upload of that version).</summary>
    public StoredImage? FindImage(string idOrVersion) =>
        images.Get(idOrVersion) ?? images.List().LastOrDefault(i => i.Version == idOrVersion);

    public Rollout Create(CreateRolloutRequest req)
    {
        var image = FindImage(req.ImageId ?? "") ?? throw new ApiProblem(404, "No such image", $"image '{req.ImageId}' is not stored");
        var groups = (req.Groups ?? Array.Empty<int>()).Distinct().OrderBy(g => g).ToList();
        var known = gateway.Registry.All().Select(d => d.GroupId).ToHashSet();
        var unknown = groups.Where(g => !known.Contains(g)).ToList();
        if (unknown.Count > 0) throw new ApiProblem(400, "Unknown group", $"no device is known in group(s) {string.Join(", ", unknown)}");
        if (req.CanaryGroups < 0) throw new ApiProblem(400, "Bad canary", "canaryGroups cannot be negative");
        int groupCount = groups.Count > 0 ? groups.Count : known.Count;
        if (req.CanaryGroups > 0 && req.CanaryGroups >= groupCount)
            throw new ApiProblem(400, "Bad canary", $"canaryGroups ({req.CanaryGroups}) must be less than the number of target groups ({groupCount})");
        if (req.MaxFailures < 0) throw new ApiProblem(400, "Bad threshold", "maxFailures cannot be negative");
        if (req.TimeoutSeconds < 1 || req.TimeoutSeconds > 86_400) throw new ApiProblem(400, "Bad timeout", "timeoutSeconds must be 1..86400");
        if (!(req.SuccessThreshold > 0 && req.SuccessThreshold <= 1)) throw new ApiProblem(400, "Bad threshold", "successThreshold must be a fraction in (0, 1]");
        if (req.InstallTimeoutSeconds < 1 || req.InstallTimeoutSeconds > 86_400) throw new ApiProblem(400, "Bad timeout", "installTimeoutSeconds must be 1..86400");
        if (req.WindowSeconds < 1 || req.WindowSeconds > CreateRolloutDefaults.MaxWindowSeconds)
            throw new ApiProblem(400, "Bad window", $"windowSeconds must be 1..{CreateRolloutDefaults.MaxWindowSeconds} (30 days)");
        var devices = gateway.Registry.All().Where(d => groups.Count == 0 || groups.Contains(d.GroupId)).Select(d => (d.NodeId, d.GroupId)).ToList();
        try
        {
            RolloutPhasePlan.Build(devices, PlanRequest(req.CanaryDevices, req.CanaryCount, req.CanaryGroups, req.Percentages));
        }
        catch (ArgumentException e)
        {
            throw new ApiProblem(400, "Bad phase plan", e.Message);
        }
        var targets = gateway.Registry.All().Where(d => groups.Count == 0 || groups.Contains(d.GroupId));
        if (ImageFit.Problem(image.Size, image.ChunkSize, targets) is { } misfit)
            throw new ApiProblem(400, "Image does not fit", misfit);
        if (GroupShapeFit.Problem(targets) is { } shape)
            throw new ApiProblem(400, "Group does not fit", shape);
        var r = new Rollout
        {
            Id = "r" + Interlocked.Increment(ref _nextRollout),
            ImageId = image.Id,
            Version = image.Version,
            Groups = groups,
            CanaryGroups = req.CanaryGroups,
            MaxFailures = req.MaxFailures,
            TimeoutSeconds = req.TimeoutSeconds,
            CanaryDevices = req.CanaryDevices?.ToList() ?? new List<uint>(),
            CanaryCount = req.CanaryCount,
            Percentages = req.Percentages?.ToList() ?? new List<int>(),
            SuccessThreshold = req.SuccessThreshold,
            InstallTimeoutSeconds = req.InstallTimeoutSeconds,
            WindowSeconds = req.WindowSeconds,
            CreatedAt = Time.GetUtcNow(),
        };
        rollouts.Add(r);
        return r;
    }

    public Rollout Get(string id) => rollouts.Get(id) ?? throw new ApiProblem(404, "No such rollout", $"rollout '{id}' does not exist");

    public Rollout Start(string id)
    {
        var r = Get(id);
        var image = images.Get(r.ImageId) ?? throw new ApiProblem(409, "Image gone", $"image '{r.ImageId}' was deleted");
        lock (_gate)
        {
            if (r.State != RolloutStates.Created) throw new ApiProblem(409, "Not startable", $"rollout {id} is {r.State}; only a created rollout can start");
            var active = rollouts.List().FirstOrDefault(x => RolloutStates.IsActive(x.State));
            if (active != null) throw new ApiProblem(409, "Rollout in progress", $"rollout {active.Id} is {active.State}; one rollout runs at a time");
            var online = gateway.Registry.Online();
            var groups = r.Groups.Count > 0 ? r.Groups.ToList() : online.Select(d => d.GroupId).Distinct().OrderBy(g => g).ToList();
            if (groups.Count == 0 || !online.Any(d => groups.Contains(d.GroupId)))
                throw new ApiProblem(409, "No devices", "no target device is online");
            // devices may have joined since the rollout was created: nothing is sent to a fleet the image does not fit
            if (ImageFit.Problem(image.Size, image.ChunkSize, online.Where(d => groups.Contains(d.GroupId))) is { } misfit)
                throw new ApiProblem(400, "Image does not fit", misfit);
            if (GroupShapeFit.Problem(online.Where(d => groups.Contains(d.GroupId))) is { } shape)
                throw new ApiProblem(400, "Group does not fit", shape);
            IReadOnlyList<RolloutPhase> plan;
            try
            {
                plan = RolloutPhasePlan.Build(online.Where(d => groups.Contains(d.GroupId)).Select(d => (d.NodeId, d.GroupId)).ToList(),
                    PlanRequest(r.CanaryDevices, r.CanaryCount, r.CanaryGroups, r.Percentages));
            }
            catch (ArgumentException e)
            {
                throw new ApiProblem(409, "Bad phase plan", $"with the devices online now: {e.Message}");
            }
            var groupOf = online.ToDictionary(d => d.NodeId, d => d.GroupId);
            var phases = plan.Select(ph => (IReadOnlyList<int>)ph.Devices.Select(n => groupOf[n]).Distinct().OrderBy(g => g).ToList()).ToList();
            if (options.BrokerBytes?.Invoke() is { } atStart) _brokerBytes[r.Id] = (atStart, null);
            new RolloutCampaign(r, image.Image, gateway, rollouts, CampaignOptions).Start(phases, plan,
                online.Where(d => groups.Contains(d.GroupId)).Select(d => d.NodeId).ToList());
        }
        return r;
    }

    public Rollout Pause(string id)
    {
        var r = Get(id);
        if (r.Campaign?.Pause() != true) throw new ApiProblem(409, "Not running", $"rollout {id} is {r.State}; only a running rollout can pause");
        return r;
    }

    public Rollout Resume(string id)
    {
        var r = Get(id);
        if (r.Campaign?.Resume() != true) throw new ApiProblem(409, "Not paused", $"rollout {id} is {r.State}; only a paused rollout can resume");
        return r;
    }

    public Rollout Abort(string id)
    {
        var r = Get(id);
        lock (r.Gate)
        {
            if (RolloutStates.IsTerminal(r.State)) throw new ApiProblem(409, "Already ended", $"rollout {id} is {r.State}");
            if (r.State == RolloutStates.Created)
            {
                r.State = RolloutStates.Aborted;
                r.EndedAt = Time.GetUtcNow();
                r.Message = "aborted before it started";
                rollouts.Update(r);
                return r;
            }
            if (r.Campaign is { } campaign) campaign.Abort();
            else r.Message = "aborted by the operator";
        }
        return r;
    }

    /// <summary>Waits until the rollout's runner has ended (tests and shutdown).</summary>
    public async Task WaitAsync(string id, CancellationToken ct = default)
    {
        var t = Get(id).Runner;
        if (t != null) await t.WaitAsync(ct);
    }

    private static PhasePlanRequest PlanRequest(IReadOnlyList<uint>? canaryDevices, int canaryCount, int canaryGroups, IReadOnlyList<int>? percentages) =>
        new(canaryDevices, canaryCount, canaryGroups, percentages);

    /// <summary>
    /// After a gateway restart on a durable store: every rollout that was running or paused runs on from the phase it
    /// was in. Devices kept what they wrote to flash; before planning, the gateway waits (up to settle) until each
    /// online target device told it what it holds (progress report or repair request), so that it sends only what is
    /// missing. Returns the rollouts resumed.
    /// </summary>
    public async Task<IReadOnlyList<Rollout>> ResumeInterruptedAsync(TimeSpan settle, CancellationToken ct = default)
    {
        var resumed = new List<Rollout>();
        foreach (var r in rollouts.List().Where(x => RolloutStates.IsActive(x.State) && x.Runner == null).ToList())
        {
            var image = images.Get(r.ImageId);
            if (image == null)
            {
                RolloutCampaign.End(r, rollouts, Time, RolloutStates.Failed, $"image {r.ImageId} is gone; the rollout cannot resume");
                continue;
            }
            int silent = await gateway.WaitForHeldReportsAsync(r.TargetDevices, image.Image, settle, ct);
            options.Log?.Invoke($"resuming rollout {r.Id} at phase {r.Phase + 1}; {silent} device(s) did not report what they hold");
            new RolloutCampaign(r, image.Image, gateway, rollouts, CampaignOptions).Resume(r.Phase);
            resumed.Add(r);
        }
        return resumed;
    }

    /// <summary>The state a pending device shows (offline within the window; its view carries when it was last seen).</summary>
    public const string PendingState = "Pending";

    private static bool IsUpdated(DeviceRecord d, string version) => d.Version.ToString() == version && d.State == DeviceState.Updated;

    // The broker's counters when each rollout started, and when it was first seen ended (issue #15).
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (IotOta.Gateway.Mqtt.BrokerBytes Start, IotOta.Gateway.Mqtt.BrokerBytes? End)> _brokerBytes = new();

    /// <summary>What the broker sent and received since the rollout started (until it ended: the counters are read again
    /// at the first view after its end), or null when the broker's bytes are not counted.</summary>
    private IotOta.Gateway.Mqtt.BrokerReport? BrokerOf(Rollout r, long imageBytes, int devices)
    {
        if (!_brokerBytes.TryGetValue(r.Id, out var b) || options.BrokerBytes == null) return null;
        var end = b.End;
        if (end == null)
        {
            end = options.BrokerBytes();
            if (end != null && RolloutStates.IsTerminal(r.State)) _brokerBytes[r.Id] = (b.Start, end);
        }
        return end == null ? null : IotOta.Gateway.Mqtt.BrokerReport.From(end.Since(b.Start), null, imageBytes, devices);
    }

    public RolloutView View(Rollout r)
    {
        RolloutEngine? engine;
        RolloutSnapshot? snap;
        string state;
        long endedPayload;
        lock (r.Gate)
        {
            engine = r.Engine;
            snap = r.LastSnapshot;
            state = r.State;
            endedPayload = r.PayloadOfEndedPhases;
        }
        var image = images.Get(r.ImageId);
        long imageBytes = image?.Size ?? snap?.ImageBytes ?? 0;
        int chunks = image?.ChunkCount ?? 0;
        var targets = r.TargetDevices.ToHashSet();
        if (engine != null) targets.UnionWith(engine.TargetNodes()); // devices that joined a targeted group in the window
        var all = gateway.Registry.All();
        var groupsOfTarget = r.Phases.SelectMany(p => p).ToHashSet();
        var devices = (state == RolloutStates.Created ? all.Where(d => r.Groups.Count == 0 || r.Groups.Contains(d.GroupId)) : all.Where(d => targets.Contains(d.NodeId)))
            .ToList();
        uint imageId = image?.Image.ImageId ?? 0;
        var deviceViews = devices.Select(d =>
        {
            bool up = IsUpdated(d, r.Version);
            int held = up ? chunks : d.ImageId == imageId ? d.HeldCount : 0;
            bool pending = !up && (engine?.IsPending(d) ?? r.PendingDevices.Any(p => p.NodeId == d.NodeId));
            return new DeviceProgressView(d.NodeId, d.GroupId, d.Online, pending ? PendingState : d.State.ToString(), d.Version.ToString(), held, chunks, up)
            {
                Pending = pending,
                LastSeen = d.LastSeen,
            };
        }).ToList();
        var groupViews = deviceViews.GroupBy(d => d.GroupId).OrderBy(g => g.Key).Select(g =>
        {
            long held = g.Sum(d => (long)d.HeldPackets), total = (long)g.Count() * chunks;
            return new GroupProgressView(g.Key, g.Count(), g.Count(d => d.Updated), g.Count(d => d.State == nameof(DeviceState.Failed)), held, total,
                total == 0 ? 0 : Math.Round(100.0 * held / total, 1));
        }).ToList();
        long allHeld = deviceViews.Sum(d => (long)d.HeldPackets), allTotal = (long)deviceViews.Count * chunks;
        var groupOf = all.ToDictionary(d => d.NodeId, d => d.GroupId);
        var intermediates = engine == null ? new List<IntermediateView>() : engine.Scheduler.Loads().Where(l => l.InFlight > 0)
            .OrderBy(l => l.NodeId).Select(l => new IntermediateView(l.NodeId, groupOf.GetValueOrDefault(l.NodeId), l.InFlight, Math.Round(l.InFlightBytes), l.Assigned)).ToList();
        var orders = (engine?.RecentOrders() ?? r.LastOrders).Select(o => new OrderView(o.Index, new NodeRef(o.Root.NodeId, o.Root.GroupId),
            o.Relays.Select(x => new NodeRef(x.NodeId, x.GroupId)).ToList())).ToList();
        double elapsed = r.StartedAt is { } s ? ((r.EndedAt ?? Time.GetUtcNow()) - s).TotalSeconds : 0;
        return new RolloutView
        {
            Id = r.Id,
            ImageId = r.ImageId,
            Version = r.Version,
            State = state,
            Message = r.Message,
            Groups = r.Groups,
            CanaryGroups = r.CanaryGroups,
            MaxFailures = r.MaxFailures,
            Phases = r.Phases,
            Phase = r.Phase,
            CreatedAt = r.CreatedAt,
            StartedAt = r.StartedAt,
            EndedAt = r.EndedAt,
            Devices = deviceViews.Count,
            Updated = deviceViews.Count(d => d.Updated),
            Failed = deviceViews.Count(d => d.State == nameof(DeviceState.Failed)),
            Pending = deviceViews.Count(d => d.Pending),
            WindowSeconds = r.WindowSeconds,
            WindowEndsAt = r.WindowEndsAt,
            Percent = allTotal == 0 ? 0 : Math.Round(100.0 * allHeld / allTotal, 1),
            ElapsedSeconds = Math.Round(elapsed, 3),
            ImageBytes = imageBytes,
            GatewayPayloadBytes = endedPayload + (engine?.GatewayPayloadBytes ?? 0),
            Broker = BrokerOf(r, imageBytes, deviceViews.Count),
            BoundSeconds = Bound(imageBytes, devices.Select(d => d.NodeId).ToList()),
            GroupProgress = groupViews,
            DeviceProgress = deviceViews,
            Intermediates = intermediates,
            RecentOrders = orders,
            Snapshot = snap,
            PhasePlan = r.PhasePlan,
            CanaryDevices = r.CanaryDevices,
            CanaryCount = r.CanaryCount,
            Percentages = r.Percentages,
            SuccessThreshold = r.SuccessThreshold,
            InstallTimeoutSeconds = r.InstallTimeoutSeconds,
            Health = r.Health,
        };
    }

    private double? Bound(long imageBytes, IReadOnlyList<uint> nodes)
    {
        if (options.Links is not { } links || imageBytes <= 0 || nodes.Count == 0) return null;
        if (!double.IsFinite(links.GatewayUp) || links.GatewayUp <= 0) return null;
        var rates = nodes.Select(n => links.Devices.TryGetValue(n, out var x) ? x : (double.NaN, double.NaN)).ToList();
        if (rates.Any(x => !double.IsFinite(x.Item1) || !double.IsFinite(x.Item2) || x.Item1 <= 0 || x.Item2 <= 0)) return null;
        return Math.Round(KumarRossBound.Seconds(imageBytes, links.GatewayUp, rates.Select(x => x.Item1).ToList(), rates.Select(x => x.Item2).ToList()), 3);
    }

    public IReadOnlyList<DeviceView> Devices()
    {
        var loads = gateway.CurrentRollout?.Scheduler.Loads().ToDictionary(l => l.NodeId, l => l.InFlight) ?? new Dictionary<uint, int>();
        return gateway.Registry.All().Select(d =>
        {
            var o = gateway.Overheads.Get(d.NodeId);
            return new DeviceView(d.NodeId, d.GroupId, d.Online, d.Version.ToString(), d.State.ToString(), d.LastSeen,
                d.ImageId == 0 ? "" : d.ImageId.ToString("x8"), d.HeldCount, d.ChunkCount,
                o == null ? null : new OverheadView(Math.Round(o.OverheadMs, 2), Math.Round(o.LastOverheadMs, 2), Math.Round(o.ForwardBytesPerSecond), o.Notices, Math.Round(o.ArrivalMs, 2)),
                loads.GetValueOrDefault(d.NodeId));
        }).ToList();
    }

    public IReadOnlyList<GroupView> Groups() =>
        gateway.Registry.All().GroupBy(d => d.GroupId).OrderBy(g => g.Key).Select(g => new GroupView(g.Key, g.Count(), g.Count(d => d.Online),
            g.GroupBy(d => d.Version.ToString()).ToDictionary(v => v.Key, v => v.Count()))).ToList();
}
