using IotOta.Gateway.Rollouts;

namespace IotOta.Gateway.Persistence;

/// <summary><see cref="IImageStore"/> on the gateway's database (SQLite or PostgreSQL).</summary>
public sealed class DatabaseImageStore(GatewayDatabase db) : IImageStore
{
    public bool TryAdd(StoredImage image) => db.TryAddImage(image);
    public StoredImage? Get(string id) => db.GetImage(id);
    public IReadOnlyList<StoredImage> List() => db.ListImages();
    public bool Remove(string id) => db.RemoveImage(id);
}
