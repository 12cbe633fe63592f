using IotOta.DeviceFirmware.Ports;
using IotOta.Shared.Protocol;

namespace IotOta.VirtualDevice.Host.Metering;

/// <summary>The image sink with its allocations counted as the adapter's.</summary>
public sealed class MeteredSink(IImageSink inner) : IImageSink
{
    public bool SequentialOnly => inner.SequentialOnly;
    public int NextOffset => inner.NextOffset;

    public void Begin(int slot, int imageSize)
    {
        long a = GC.GetAllocatedBytesForCurrentThread();
        try { inner.Begin(slot, imageSize); } finally { AdapterAllocations.Add(a); }
    }

    public bool Resume(int slot, int imageSize, int offset)
    {
        long a = GC.GetAllocatedBytesForCurrentThread();
        try { return inner.Resume(slot, imageSize, offset); } finally { AdapterAllocations.Add(a); }
    }

    public void Write(int offset, byte[] buffer, int bufferOffset, int count)
    {
        long a = GC.GetAllocatedBytesForCurrentThread();
        try { inner.Write(offset, buffer, bufferOffset, count); } finally { AdapterAllocations.Add(a); }
    }

    public bool Complete()
    {
        long a = GC.GetAllocatedBytesForCurrentThread();
        try { return inner.Complete(); } finally { AdapterAllocations.Add(a); }
    }
}

/// <summary>MQTTnet's publish allocations are the MQTT client's, not the core's.</summary>
public sealed class MeteredMqtt(IMqttPort inner) : IMqttPort
{
    public bool IsConnected => inner.IsConnected;

    public bool Publish(string topic, byte[] buffer, int offset, int count, bool retain)
    {
        long a = GC.GetAllocatedBytesForCurrentThread();
        try { return inner.Publish(topic, buffer, offset, count, retain); } finally { AdapterAllocations.Add(a); }
    }

    public bool PublishAtMostOnce(string topic, byte[] buffer, int offset, int count)
    {
        long a = GC.GetAllocatedBytesForCurrentThread();
        try { return inner.PublishAtMostOnce(topic, buffer, offset, count); } finally { AdapterAllocations.Add(a); }
    }

    public void Subscribe(string topic)
    {
        long a = GC.GetAllocatedBytesForCurrentThread();
        try { inner.Subscribe(topic); } finally { AdapterAllocations.Add(a); }
    }

    public bool Subscribed(string topic) => inner.Subscribed(topic);
}

/// <summary>Socket sends are the network stack's.</summary>
public sealed class MeteredPeer(IPeerPort inner) : IPeerPort
{
    public bool Send(uint ip, int port, byte[] buffer, int offset, int count)
    {
        long a = GC.GetAllocatedBytesForCurrentThread();
        try { return inner.Send(ip, port, buffer, offset, count); } finally { AdapterAllocations.Add(a); }
    }

    /// <summary>The socket's allocations are the network stack's; the core's reads of the copy from flash inside it
    /// (counted by the metered flash already) are not counted twice.</summary>
    public bool SendPieces(uint ip, int port, IPeerMessage message, int count, byte[] piece)
    {
        long counted = AdapterAllocations.Peek();
        long a = GC.GetAllocatedBytesForCurrentThread();
        try { return inner.SendPieces(ip, port, message, count, piece); }
        finally { AdapterAllocations.Add(a, AdapterAllocations.Peek() - counted); }
    }
}

/// <summary>The .NET hash port (a board hashes natively).</summary>
public sealed class MeteredHash(IHashPort inner) : IHashPort
{
    public void ChunkHash(ChunkHashKind kind, byte[] data, int offset, int count, byte[] output, int outputOffset)
    {
        long a = GC.GetAllocatedBytesForCurrentThread();
        try { inner.ChunkHash(kind, data, offset, count, output, outputOffset); } finally { AdapterAllocations.Add(a); }
    }

    public void ImageHashBegin()
    {
        long a = GC.GetAllocatedBytesForCurrentThread();
        try { inner.ImageHashBegin(); } finally { AdapterAllocations.Add(a); }
    }

    public void ImageHashAppend(byte[] data, int offset, int count)
    {
        long a = GC.GetAllocatedBytesForCurrentThread();
        try { inner.ImageHashAppend(data, offset, count); } finally { AdapterAllocations.Add(a); }
    }

    public void ImageHashFinish(byte[] output, int outputOffset)
    {
        long a = GC.GetAllocatedBytesForCurrentThread();
        try { inner.ImageHashFinish(output, outputOffset); } finally { AdapterAllocations.Add(a); }
    }
}

/// <summary>The .NET ECDSA verifier (a board runs a separate managed verifier, budgeted apart from the core).</summary>
public sealed class MeteredVerifier(ISignatureVerifier inner) : ISignatureVerifier
{
    public bool Verify(byte keyId, byte[] data, int offset, int count, byte[] signature, int signatureOffset)
    {
        long a = GC.GetAllocatedBytesForCurrentThread();
        try { return inner.Verify(keyId, data, offset, count, signature, signatureOffset); } finally { AdapterAllocations.Add(a); }
    }

    public bool VerifyDigest(byte keyId, byte[] digest, int digestOffset, byte[] signature, int signatureOffset)
    {
        long a = GC.GetAllocatedBytesForCurrentThread();
        try { return inner.VerifyDigest(keyId, digest, digestOffset, signature, signatureOffset); } finally { AdapterAllocations.Add(a); }
    }
}

/// <summary>The log ring keeps what it is given; the core's message strings still count as the core's.</summary>
public sealed class MeteredLog(ILogPort inner) : ILogPort
{
    public void Log(string message)
    {
        long a = GC.GetAllocatedBytesForCurrentThread();
        try { inner.Log(message); } finally { AdapterAllocations.Add(a); }
    }
}
