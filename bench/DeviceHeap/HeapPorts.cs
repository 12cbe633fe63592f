using IotOta.DeviceFirmware.Ports;
using IotOta.VirtualDevice.Host.Metering;

namespace IotOta.DeviceHeap;

/// <summary>Ports that keep nothing and allocate nothing: the MQTT client and sockets are outside the core.</summary>
internal sealed class NullMqtt : IMqttPort
{
    public bool IsConnected => true;
    public bool Publish(string topic, byte[] buffer, int offset, int count, bool retain) => true;
    public bool PublishAtMostOnce(string topic, byte[] buffer, int offset, int count) => true;
    public void Subscribe(string topic) { }
    public bool Subscribed(string topic) => false;
}

internal sealed class NullPeer : IPeerPort
{
    public long Sends;
    public bool Send(uint ip, int port, byte[] buffer, int offset, int count)
    {
        Sends++;
        return true;
    }

    /// <summary>Reads every piece (the core's reads from flash happen as on a board) and drops them.</summary>
    public bool SendPieces(uint ip, int port, IPeerMessage message, int count, byte[] piece)
    {
        for (int at = 0; at < count; at += piece.Length)
        {
            if (!message.ReadPiece(at, piece, 0, Math.Min(piece.Length, count - at))) return false;
        }
        Sends++;
        return true;
    }
}

internal sealed class RestartCounter : IRestartPort
{
    public int Count;
    public void RequestRestart() => Count++;
}

internal sealed class BenchClock : IClock
{
    public long NowMs { get; set; } = 1_000;
}

/// <summary>The signature check's working memory is garbage once it returns (the board's managed verifier drops it):
/// what it allocates inside a call counts as that call's transient bytes, and the call's peak at that moment (what the
/// call allocated before the check plus the check's scratch) is noted.</summary>
internal sealed class TransientVerifier(ISignatureVerifier inner) : ISignatureVerifier
{
    public bool Verify(byte keyId, byte[] data, int offset, int count, byte[] signature, int signatureOffset)
    {
        long a = GC.GetAllocatedBytesForCurrentThread();
        try { return inner.Verify(keyId, data, offset, count, signature, signatureOffset); }
        finally { Note(a); }
    }

    public bool VerifyDigest(byte keyId, byte[] digest, int digestOffset, byte[] signature, int signatureOffset)
    {
        long a = GC.GetAllocatedBytesForCurrentThread();
        try { return inner.VerifyDigest(keyId, digest, digestOffset, signature, signatureOffset); }
        finally { Note(a); }
    }

    /// <summary>What the check allocated since a (its scratch) is transient; the call's level at that moment is noted.</summary>
    private static void Note(long a)
    {
        long before = a - Measure.CallStart - AdapterAllocations.Peek();
        long scratch = GC.GetAllocatedBytesForCurrentThread() - a;
        Measure.Transient += scratch;
        Measure.InCallPeak = Math.Max(Measure.InCallPeak, before + scratch);
    }
}

/// <summary>One measured call: what the core allocated on this thread, minus what the adapters allocated meanwhile
/// (<see cref="AdapterAllocations"/>, counted by the Metered* wrappers of the virtual device).</summary>
internal static class Measure
{
    [ThreadStatic] public static long CallStart;
    /// <summary>Bytes of the last call that were garbage when it returned (the signature check).</summary>
    [ThreadStatic] public static long Transient;
    /// <summary>The highest level the last call reached inside it, where known (the signature check).</summary>
    [ThreadStatic] public static long InCallPeak;

    public static long Call(Action call)
    {
        AdapterAllocations.Take();
        Transient = 0;
        InCallPeak = 0;
        long start = GC.GetAllocatedBytesForCurrentThread();
        CallStart = start;
        call();
        long bytes = GC.GetAllocatedBytesForCurrentThread() - start - AdapterAllocations.Take();
        return bytes < 0 ? 0 : bytes;
    }
}

/// <summary>The core heap through one phase. A kept call's bytes stay (retained); any other call's bytes are garbage
/// when it returns. Peak = the highest of retained-before + what a call allocated (for a kept call: + its non-transient
/// bytes, or what it held at its signature check if that was higher).</summary>
internal sealed class PhaseMeter
{
    public long Retained { get; private set; }
    public long Peak { get; private set; }

    /// <summary>A call whose allocations stay (construction, start, member list, manifest) but for their transient part.</summary>
    public long Keep(Action call)
    {
        long a = Measure.Call(call);
        long transient = Measure.Transient;
        long kept = a - transient;
        Peak = Math.Max(Peak, Retained + Math.Max(kept, Measure.InCallPeak));
        Retained += kept;
        return kept;
    }

    /// <summary>A call whose allocations are garbage when it returns.</summary>
    public long Pass(Action call)
    {
        long a = Measure.Call(call);
        Peak = Math.Max(Peak, Retained + a);
        return a;
    }

    /// <summary>A call measured elsewhere whose bytes were garbage when it returned.</summary>
    public void Note(long bytes) => Peak = Math.Max(Peak, Retained + bytes);

    public PhaseHeap Result => new(Retained, Peak);
}
