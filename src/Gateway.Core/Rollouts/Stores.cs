using System.Collections.Concurrent;
using System.Text.Json.Serialization;
using IotOta.Gateway.Images;

namespace IotOta.Gateway.Rollouts;

/// <summary>An uploaded image, signed by the gateway. <see cref="Image"/> holds the bytes and the signed manifest.</summary>
public sealed record StoredImage(string Id, string Version, string Board, long Size, int ChunkSize, int ChunkCount, string Sha256,
    DateTimeOffset UploadedAt, string? FileName)
{
    [JsonIgnore] public FirmwareImage Image { get; init; } = null!;
}

/// <summary>Where images live: <see cref="InMemoryImageStore"/> or the database one (Persistence/DatabaseImageStore.cs).</summary>
public interface IImageStore
{
    /// <summary>Adds the image; false when one with the same version and board is already stored.</summary>
    bool TryAdd(StoredImage image);
    StoredImage? Get(string id);
    IReadOnlyList<StoredImage> List();
    bool Remove(string id);
}

public sealed class InMemoryImageStore : IImageStore
{
    private readonly object _gate = new();
    private readonly Dictionary<string, StoredImage> _images = new(StringComparer.OrdinalIgnoreCase);

    public bool TryAdd(StoredImage image)
    {
        lock (_gate)
        {
            if (_images.ContainsKey(image.Id) || _images.Values.Any(i => i.Version == image.Version && i.Board == image.Board)) return false;
            _images[image.Id] = image;
            return true;
        }
    }

    public StoredImage? Get(string id)
    {
        lock (_gate) return _images.GetValueOrDefault(id);
    }

    public IReadOnlyList<StoredImage> List()
    {
        lock (_gate) return _images.Values.OrderBy(i => i.UploadedAt).ToList();
    }

    public bool Remove(string id)
    {
        lock (_gate) return _images.Remove(id);
    }
}

/// <summary>Where rollouts live: <see cref="InMemoryRolloutStore"/> or the database one (Persistence/DatabaseRolloutStore.cs).</summary>
public interface IRolloutStore
{
    void Add(Rollout rollout);
    Rollout? Get(string id);
    IReadOnlyList<Rollout> List();
    /// <summary>The rollout's state changed (a durable store writes it; the in-memory one holds the object already).</summary>
    void Update(Rollout rollout) { }
}

public sealed class InMemoryRolloutStore : IRolloutStore
{
    private readonly ConcurrentDictionary<string, Rollout> _rollouts = new(StringComparer.OrdinalIgnoreCase);

    public void Add(Rollout rollout)
    {
        if (!_rollouts.TryAdd(rollout.Id, rollout)) throw new InvalidOperationException($"rollout {rollout.Id} exists");
    }

    public Rollout? Get(string id) => _rollouts.GetValueOrDefault(id);

    public IReadOnlyList<Rollout> List() => _rollouts.Values.OrderBy(r => r.CreatedAt).ToList();
}
