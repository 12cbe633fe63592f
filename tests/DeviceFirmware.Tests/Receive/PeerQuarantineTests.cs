using IotOta.DeviceFirmware.Agent;
using IotOta.DeviceFirmware.Receive;
using IotOta.DeviceFirmware.Tests.Fakes;

namespace IotOta.DeviceFirmware.Tests.Receive;

public class PeerQuarantineTests
{
    [Fact]
    public void A_sender_and_its_connection_are_quarantined_at_the_limit_separately()
    {
        var counters = new DeviceCounters();
        var q = new PeerQuarantine(3, counters, new DeviceLog(new RecordingLog(), 1));
        q.StrikePeer(7, 100);
        q.StrikePeer(7, 100);
        Assert.False(q.IsQuarantined(PeerQuarantine.Sender, 7));
        q.StrikePeer(7, 0); // unknown connection: only the sender is struck
        Assert.True(q.IsQuarantined(PeerQuarantine.Sender, 7));
        Assert.False(q.IsQuarantined(PeerQuarantine.Connection, 100));
        q.Strike(PeerQuarantine.Connection, 100);
        Assert.True(q.IsQuarantined(PeerQuarantine.Connection, 100));
        Assert.False(q.IsQuarantined(PeerQuarantine.Connection, 7)); // kinds are apart
        Assert.Equal(2, counters.PeersQuarantined);
    }

    [Fact]
    public void A_full_table_evicts_the_fewest_strikes_but_keeps_quarantined_entries()
    {
        var q = new PeerQuarantine(2, new DeviceCounters(), new DeviceLog(null!, 1));
        q.Strike(PeerQuarantine.Sender, 1);
        q.Strike(PeerQuarantine.Sender, 1);
        for (uint id = 2; id < 40; id++) q.Strike(PeerQuarantine.Sender, id);
        Assert.True(q.IsQuarantined(PeerQuarantine.Sender, 1));
        q.Strike(PeerQuarantine.Sender, 39);
        Assert.True(q.IsQuarantined(PeerQuarantine.Sender, 39));
    }
}
