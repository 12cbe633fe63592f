using System.Security.Cryptography;
using IotOta.DeviceFirmware.Ports;
using IotOta.Shared.Protocol;

namespace IotOta.FaultSuite;

/// <summary>A signed image (built by the gateway's FirmwareImage) with helpers to cut packets and check slots.</summary>
public sealed class SignedImage
{
    public SignedImage(byte[] bytes, Manifest manifest, byte[] manifestBytes)
    {
        Bytes = bytes;
        Manifest = manifest;
        ManifestBytes = manifestBytes;
    }

    public byte[] Bytes { get; }
    public Manifest Manifest { get; }
    public byte[] ManifestBytes { get; }
    public uint ImageId => Manifest.ImageId;
    public int ChunkCount => Manifest.ChunkCount;

    public static SignedImage Create(byte[] bytes, FirmwareVersion version, ECDsa key, byte keyId, int chunkSize, uint imageId, bool rollback = false)
    {
        // The gateway's own image builder; the signer is not disposed because it does not own the caller's key.
        var signer = new IotOta.Gateway.Images.ManifestSigner(key, keyId);
        var image = IotOta.Gateway.Images.FirmwareImage.Create(bytes, version, signer, chunkSize, ChunkHashKind.Sha256, imageId, rollback);
        return new SignedImage(image.Bytes, image.Manifest, image.ManifestBytes);
    }

    /// <summary>Chunk <paramref name="index"/> as a packet of <paramref name="type"/> (Original from the gateway, Copy from a peer).</summary>
    public byte[] Packet(MessageType type, int index, uint sender, byte flags = 0, uint[]? targetNodes = null, uint[]? targetIps = null, int[]? targetPorts = null)
    {
        int len = Manifest.ChunkLength(index);
        int targets = targetNodes?.Length ?? 0;
        var buf = new byte[DataPacket.EncodedLength(targets, len)];
        DataPacket.Write(new WireWriter(buf), type, ImageId, index, flags, sender, targets, targetNodes, targetIps, targetPorts,
            Bytes, Manifest.ChunkOffset(index), len);
        return buf;
    }

    public bool SlotHolds(IFlashPartition slot)
    {
        var b = new byte[Bytes.Length];
        slot.Read(0, b, 0, b.Length);
        return b.AsSpan().SequenceEqual(Bytes);
    }
}

public sealed class NullLog : ILogPort
{
    public List<string>? Lines;
    public void Log(string message) => Lines?.Add(message);
}

public sealed class RestartFlag : IRestartPort
{
    public int Count;
    public void RequestRestart() => Count++;
}

/// <summary>In-memory first network: subscriptions are ignored (the suite delivers what it wants), publishes are
/// handed to <see cref="OnPublish"/> (a copy is only made by the handler if it keeps the bytes).</summary>
public sealed class MemoryMqtt : IMqttPort
{
    public bool IsConnected { get; set; } = true;
    public int Published;
    public Action<string, byte[], int, int>? OnPublish;

    public bool Publish(string topic, byte[] buffer, int offset, int count, bool retain)
    {
        if (!IsConnected) return false;
        Published++;
        OnPublish?.Invoke(topic, buffer, offset, count);
        return true;
    }

    public bool PublishAtMostOnce(string topic, byte[] buffer, int offset, int count) => Publish(topic, buffer, offset, count, false);

    public void Subscribe(string topic) { }
    public bool Subscribed(string topic) => false;
}

/// <summary>In-memory second network: a send to a port is handed to that port's handler (if any).</summary>
public sealed class MemoryPeers : IPeerPort
{
    public readonly Dictionary<int, Action<byte[], int, int>> Handlers = new();
    public int Sent;

    public bool Send(uint ip, int port, byte[] buffer, int offset, int count)
    {
        Sent++;
        if (!Handlers.TryGetValue(port, out var h)) return true;
        h(buffer, offset, count);
        return true;
    }

    public bool SendPieces(uint ip, int port, IPeerMessage message, int count, byte[] piece)
    {
        var whole = new byte[count];
        for (int at = 0; at < count; at += piece.Length)
        {
            int n = Math.Min(piece.Length, count - at);
            if (!message.ReadPiece(at, piece, 0, n)) return false;
            Array.Copy(piece, 0, whole, at, n);
        }
        return Send(ip, port, whole, 0, count);
    }
}

public static class Keys
{
    public const byte TrustedId = 1;
    public const byte UnknownId = 9;
    public static readonly ECDsa Trusted = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    public static readonly ECDsa Impostor = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    public static readonly ECDsa Unknown = ECDsa.Create(ECCurve.NamedCurves.nistP256);
}

public static class Scratch
{
    /// <summary>A fresh directory for flash files, in RAM (/dev/shm) when there is one.</summary>
    public static string NewDir()
    {
        string root = Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
        string dir = Path.Combine(root, "iotota-fault-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dir);
        return dir;
    }
}
