using System.Net;
using System.Net.Sockets;

namespace IotOta.VirtualDevice.Network;

/// <summary>One persistent outbound peer connection of a <see cref="TcpPeerNetwork"/> with its place in the device's
/// <see cref="PeerConnectionBudget"/>. Callers serialise on the instance (lock); <see cref="Close"/> may come from any
/// thread (the budget evicting it, the network disposing). When the receiver closes its side (its own budget drained the
/// connection to make room, see <see cref="PeerInbound.Drain"/>) this side is closed as soon as no frame is being
/// written, so the receiver reads every frame written before that and then the end of the stream.</summary>
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
        // The budget's close action closes this connection only, never one made after it (the owner may already have
        // seen the eviction and connected again when the budget gets round to closing the victim).
        Socket? mine = null;
        PeerConnectionBudget.Slot? slot = null;
        slot = budget.Open(inbound: false, () => CloseOwn(mine, slot), ct, inUse: true);
        if (slot == null) return false;
        Socket? s = ConnectWithin(address, port, TcpPeerNetwork.ConnectTimeout, ct);
        if (s == null)
        {
            slot.Release();
            return false;
        }
        mine = s;
        _slot = slot;
        _socket = s;
        _ = CloseWhenPeerClosesAsync(s);
        return true;
    }

    /// <summary>A blocking connect with a time limit that needs no thread-pool thread to complete: a connect waited
    /// for synchronously on an asynchronous one (as before) timed out when the pool was short of threads (a loaded
    /// machine, several senders blocked on one destination), and Send returned false to a reachable peer.</summary>
    private static Socket? ConnectWithin(IPAddress address, int port, TimeSpan timeout, CancellationToken ct)
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, SendTimeout = TcpPeerNetwork.SendTimeoutMs };
        try
        {
            s.Blocking = false;
            try
            {
                s.Connect(address, port);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
            {
                // under way: wait for it below
            }
            long start = Environment.TickCount64;
            while (!s.Poll(20_000, SelectMode.SelectWrite))
            {
                if (ct.IsCancellationRequested || Environment.TickCount64 - start >= (long)timeout.TotalMilliseconds) throw new TimeoutException();
            }
            if ((int)s.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)! != 0) throw new SocketException((int)SocketError.ConnectionRefused);
            s.Blocking = true;
            if (!s.Connected) throw new SocketException((int)SocketError.NotConnected);
            return s;
        }
        catch (Exception)
        {
            s.Dispose();
            return null;
        }
    }

    /// <summary>The receiver never sends on a peer connection: the receive ends when it closed its side (or this side
    /// was closed). Then this connection is closed, at once when no frame is being written, else right after it.</summary>
    private async Task CloseWhenPeerClosesAsync(Socket s)
    {
        try
        {
            await s.ReceiveAsync(new byte[1], SocketFlags.None).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // closed here, or reset: either way this connection is done
        }
        while (Volatile.Read(ref _socket) == s)
        {
            if (Monitor.TryEnter(this))
            {
                try
                {
                    if (_socket == s) Close();
                }
                finally
                {
                    Monitor.Exit(this);
                }
                return;
            }
            await Task.Delay(5).ConfigureAwait(false);
        }
    }

    private void CloseOwn(Socket? s, PeerConnectionBudget.Slot? slot)
    {
        if (s == null || slot == null) return;
        Interlocked.CompareExchange(ref _socket, null, s);
        Interlocked.CompareExchange(ref _slot, null, slot);
        slot.Release();
        Shut(s);
    }

    public void Close()
    {
        Socket? s = Interlocked.Exchange(ref _socket, null);
        Interlocked.Exchange(ref _slot, null)?.Release();
        if (s != null) Shut(s);
    }

    private static void Shut(Socket s)
    {
        try { s.Shutdown(SocketShutdown.Both); } catch (Exception) { }
        s.Dispose();
    }
}
