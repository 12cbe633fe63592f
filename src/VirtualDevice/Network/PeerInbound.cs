using System.Net.Sockets;

namespace IotOta.VirtualDevice.Network;

/// <summary>One inbound peer connection of a <see cref="TcpPeerNetwork"/>: its socket, read loop and place in the
/// device's <see cref="PeerConnectionBudget"/>.</summary>
internal sealed class PeerInbound
{
    /// <summary>How long a drained connection is still read at most when its sender does not close its side.</summary>
    public static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(10);

    private int _closed, _draining;
    private readonly CancellationTokenSource _reads;

    public PeerInbound(Socket socket, uint id, CancellationToken networkClosing)
    {
        Socket = socket;
        Id = id;
        _reads = CancellationTokenSource.CreateLinkedTokenSource(networkClosing);
    }

    public uint Id { get; }
    public Socket Socket { get; }
    public Task? Reader { get; set; }
    public PeerConnectionBudget.Slot? Slot { get; set; }
    /// <summary>Cancels the reads: the network closes, or a drain took too long.</summary>
    public CancellationToken Reads => _reads.Token;
    public bool Draining => Volatile.Read(ref _draining) != 0;

    /// <summary>The budget takes this connection's socket for another (or never gave it one): this side is closed
    /// (the sender sees the end of the stream and stops using the connection) but reading goes on until the sender
    /// closes too, so every frame it wrote before it saw that is still delivered. Closing outright, as before, threw
    /// away a frame the sender had already written (its Send had returned true) and nobody noticed: the hub of
    /// PeerConnectionBudgetTests got 29 of 30. The slot is free at once; a sender that never closes its side is cut
    /// off after <see cref="DrainTimeout"/>. From any thread, once.</summary>
    public void Drain()
    {
        if (Interlocked.Exchange(ref _draining, 1) != 0 || Volatile.Read(ref _closed) != 0) return;
        Slot?.Release();
        try { Socket.Shutdown(SocketShutdown.Send); } catch (Exception) { }
        try { _reads.CancelAfter(DrainTimeout); } catch (ObjectDisposedException) { }
    }

    /// <summary>Closes the socket (the read loop ends) and frees its slot; from any thread, once.</summary>
    public void Close()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0) return;
        Slot?.Release();
        try { _reads.Cancel(); } catch (ObjectDisposedException) { }
        try { Socket.Shutdown(SocketShutdown.Both); } catch (Exception) { }
        Socket.Dispose();
        _reads.Dispose();
    }
}
