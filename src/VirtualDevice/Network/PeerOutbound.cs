using System.Net;
using System.Net.Sockets;

namespace IotOta.VirtualDevice.Network;

/// <summary>One persistent outbound peer connection of a <see cref="TcpPeerNetwork"/> with its place in the device's
/// <see cref="PeerConnectionBudget"/>. Callers serialise on the instance (lock); <see cref="Close"/> may come from any
/// thread (the budget evicting it, the network disposing).</summary>
internal sealed class PeerOutbound
{
    public readonly byte[] Header = new byte[4];
    public readonly ArraySegment<byte>[] Segments;
    private Socket? _socket;
    private PeerConnectionBudget.Slot? _slot;

    public PeerOutbound()
    {
        Segments = new ArraySegment<byte>[] { new ArraySegment<byte>(Header), default };
    }

    public Socket? Socket => _socket;
    public PeerConnectionBudget.Slot? Slot => _slot;

    /// <summary>Connects to send a frame, taking a slot of the budget first, already in use (the caller ends the use
    /// with <see cref="PeerConnectionBudget.Slot.EndUse"/> once the frame is out): the budget cannot close the new
    /// connection to make room for another between the connect and the frame. False when the budget refused or the peer
    /// is unreachable.</summary>
    public bool Connect(IPAddress address, int port, PeerConnectionBudget budget, CancellationToken ct)
    {
        PeerConnectionBudget.Slot? slot = budget.Open(inbound: false, Close, ct, inUse: true);
        if (slot == null) return false;
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, SendTimeout = TcpPeerNetwork.SendTimeoutMs };
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TcpPeerNetwork.ConnectTimeout);
            s.ConnectAsync(address, port, timeout.Token).AsTask().GetAwaiter().GetResult();
            _slot = slot;
            _socket = s;
            return true;
        }
        catch (Exception)
        {
            slot.Release();
            s.Dispose();
            return false;
        }
    }

    public void Close()
    {
        Socket? s = Interlocked.Exchange(ref _socket, null);
        Interlocked.Exchange(ref _slot, null)?.Release();
        if (s == null) return;
        try { s.Shutdown(SocketShutdown.Both); } catch (Exception) { }
        s.Dispose();
    }
}
