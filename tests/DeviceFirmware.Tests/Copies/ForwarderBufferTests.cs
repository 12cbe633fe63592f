using IotOta.DeviceFirmware.Tests.Agent;
using IotOta.DeviceFirmware.Tests.Support;
using IotOta.Shared.Protocol;
using static IotOta.DeviceFirmware.Tests.Support.Images;

namespace IotOta.DeviceFirmware.Tests.Copies;

/// <summary>
/// The resume (re-hashing held packets at start, through a one-chunk buffer of its own) and the install (reading the
/// whole image back through the forwarder's piece buffer, on the pump's thread) read the image before copies are
/// streamed through that same piece: a copy sent after either must carry its own chunk's bytes, not what the
/// borrower left in the buffer (nor a stale cached packet).
/// </summary>
public class ForwarderBufferTests
{
    private static void AssertCopiesAreTheImage(DeviceHarness d, Gateway.Images.FirmwareImage img, int expected)
    {
        var copies = d.Peer.Sends.Where(s => s.Bytes[3] == (byte)MessageType.Copy).ToList();
        Assert.Equal(expected, copies.Count);
        foreach (var c in copies)
        {
            DataPacket p = Parsed.Data(c.Bytes);
            Assert.Equal(img.ImageId, p.ImageId);
            Assert.Equal(Chunk(img, p.Index), Parsed.Payload(c.Bytes));
        }
    }

    [Fact]
    public void Copies_after_the_resume_and_after_the_install_carry_their_own_chunks()
    {
        using var d = new DeviceHarness(nodeId: 1);
        var img = Create(V(1, 1, 0), chunks: 10);
        int n = img.ChunkCount;
        d.Members(1, 1, 2);
        d.Manifest(img);
        for (int i = 0; i < n - 1; i++) d.Original(img, i);
        d.PumpAll();
        d.Reboot(); // the resume reads every held packet back through the send buffer
        Assert.Equal(n - 1, d.Agent.HeldCount);
        d.Members(1, 1, 2);
        d.Peer.Clear();
        // the last packet the resume read is chunk n-2: ask for it first
        d.FromPeer(DeviceAgentRepairTests.Request(2, img, 16, Enumerable.Range(0, n).Reverse()));
        d.PumpAll();
        AssertCopiesAreTheImage(d, img, n - 1);

        d.Original(img, n - 1); // completes the image: the install reads it all back through the send buffer
        d.PumpAll();
        Assert.Equal(1, d.Restarts.Count);
        d.Reboot();
        Assert.Equal(n, d.Agent.HeldCount); // serving the running image
        d.Members(1, 1, 2);
        d.Peer.Clear();
        d.FromPeer(DeviceAgentRepairTests.Request(2, img, 16, Enumerable.Range(0, n)));
        d.PumpAll();
        AssertCopiesAreTheImage(d, img, n);
    }
}
