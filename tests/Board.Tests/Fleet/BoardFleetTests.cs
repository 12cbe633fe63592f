using System.Security.Cryptography;
using IotOta.Board.Storage;
using IotOta.Gateway;
using IotOta.Gateway.Mqtt;
using IotOta.Gateway.Images;
using IotOta.Gateway.Rollouts;
using IotOta.Shared.Protocol;
using IotOta.TestSupport;
using IotOta.VirtualDevice.Network;
using Xunit.Abstractions;

namespace IotOta.Board.Tests.Fleet;

/// <summary>
/// The board program itself, end to end: six boards (src/Board on .NET, one process each) in two groups, Mosquitto,
/// and the real gateway. Rollout 1 delivers an application bundle (two assemblies) while two boards lose power
/// mid-update; they resume from what their files hold, and every board loads and starts the new bundle. Rollout 2
/// delivers a bundle whose self-test fails: every board installs it, fails, restarts into the previous bundle and
/// loads it again. A power cut is seen by the gateway through the board's will (M2Mqtt's UTF-8 string form).
/// </summary>
[Collection("board-fleet")]
public sealed class BoardFleetTests(ITestOutputHelper output)
{
    private const int Chunk = 2048;
    private const int SlotBytes = 80 * 1024;

    [Fact]
    public async Task Six_boards_in_two_groups_load_the_new_bundle_resume_after_power_cuts_and_roll_back_a_failed_self_test()
    {
        await using var mosquitto = await MosquittoBroker.StartAsync();
        using var temp = new TempDir("iotota-boardfleet-");
        using var signer = ManifestSigner.Generate();
        string keyHex = Convert.ToHexString(PublicPoint(signer));
        // the gateway's first network limited to 24 KB/s, so the update takes seconds and can be cut in the middle
        var uplink = new TokenBucket(24 * 1024, 4096);
        await using var gateway = MqttGatewayNode.Create(mosquitto.Host, mosquitto.Port, pace: uplink.ConsumeAsync);
        await gateway.StartAsync(CancellationToken.None);

        var boards = new List<EmulatedBoard>();
        try
        {
            for (int i = 0; i < 6; i++)
            {
                var b = new EmulatedBoard((uint)(2001 + i), 1 + i % 2, temp.File("board" + i), FreePort.Get());
                b.WriteConfig($"""
                    # board {i}
                    mqtt.host={mosquitto.Host}
                    mqtt.port={mosquitto.Port}
                    node.id={b.NodeId}
                    group.id={b.GroupId}
                    peer.ip=127.0.0.1
                    peer.port={b.PeerPort}
                    peer.connections=6
                    chunk.max={Chunk}
                    key.id={signer.KeyId}
                    key.hex={keyHex}
                    store.slot={SlotBytes}
                    trial.timeout.ms=30000
                    """);
                boards.Add(b);
                b.PowerOn();
            }
            await gateway.WaitForDevicesAsync(6, TimeSpan.FromSeconds(60), CancellationToken.None);
            await Task.Delay(1500); // member lists reach every board

            // ---- rollout 1: bundle 2.0.0, two power cuts mid-update --------------------------------------------
            byte[] bundle2 = AppBundlePacker.Pack("DemoAppV2.Entry", [
                new("DemoLibV2.pe", TestApps.Build("DemoLibV2", true, paddingBytes: 30 * 1024)),
                new("DemoAppV2.pe", TestApps.Build("DemoAppV2", true, paddingBytes: 24 * 1024)),
            ]);
            var image2 = FirmwareImage.Create(bundle2, new FirmwareVersion(2, 0, 0), signer, Chunk, ChunkHashKind.HmacSha256PublicKey);
            var options = new RolloutOptions { Timeout = TimeSpan.FromSeconds(120), OfflineWait = TimeSpan.FromSeconds(60) };
            var started = DateTime.UtcNow;
            Task<RolloutResult> rollout = gateway.RunRolloutAsync(image2, options, null, CancellationToken.None);

            var cut = new[] { boards[0], boards[3] }; // one per group
            int sectors = (bundle2.Length + 4095) / 4096;
            var heldAtCut = new Dictionary<uint, int>();
            foreach (var b in cut)
            {
                // cut when the board has written between a quarter and three quarters of the bundle's sectors
                int files = await WaitForSlotFiles(b, "slotb", Math.Max(2, sectors / 4), rollout);
                Assert.True(files < sectors, $"board {b.NodeId} had all {files} sectors before the cut: the update was not cut in the middle");
                b.PowerCut();
                heldAtCut[b.NodeId] = files;
            }
            // the gateway learns each cut from the board's will (text form through M2Mqtt's UTF-8 encoding)
            foreach (var b in cut)
                await Until(() => gateway.Registry.Get(b.NodeId) is { Online: false } d && d.Version.SameAs(new FirmwareVersion(1, 0, 0)),
                    TimeSpan.FromSeconds(10), $"gateway sees board {b.NodeId} offline (its will, running 1.0.0)");
            await Task.Delay(1000);
            foreach (var b in cut) b.PowerOn();

            RolloutResult r1 = await rollout;
            await Until(() => boards.All(b => gateway.Registry.Get(b.NodeId) is { State: DeviceState.Updated } d && d.Version.SameAs(image2.Version)),
                TimeSpan.FromSeconds(60), "all boards report 2.0.0 Updated");
            double seconds1 = (DateTime.UtcNow - started).TotalSeconds;
            output.WriteLine($"rollout 1: {r1.Updated}/{r1.Devices} updated by the gateway's count, {r1.GatewayPayloadBytes} payload bytes from the gateway for a {bundle2.Length}-byte bundle ({(double)r1.GatewayPayloadBytes / bundle2.Length:0.00} x), {seconds1:0.0} s, timed out {r1.TimedOut}");
            foreach (var b in boards)
            {
                var slot = new FilePartition(b.Root + "iotota/", "slotb", SlotBytes, 4096);
                var held = new byte[bundle2.Length];
                slot.Read(0, held, 0, held.Length);
                Assert.True(held.AsSpan().SequenceEqual(bundle2), $"board {b.NodeId}: slot B is not the bundle");
                Assert.Contains(b.CurrentBootLines(), l => l.Contains("entry DemoAppV2.Entry started"));
                output.WriteLine($"board {b.NodeId} (group {b.GroupId}): boots {b.Boots}, reboots {b.Reboots}");
            }
            foreach (var b in cut)
            {
                string resume = b.Lines.FirstOrDefault(l => l.Contains("resuming update 2.0.0")) ?? "";
                output.WriteLine($"board {b.NodeId}: cut with {heldAtCut[b.NodeId]}/{sectors} slot sectors written; after power-on: {resume.Trim()}");
                Assert.Matches(@"resuming update 2\.0\.0 with [1-9]\d*/\d+ packets held", resume);
            }

            // ---- rollout 2: bundle 3.0.0 whose self-test fails -> every board rolls back to 2.0.0 ---------------
            byte[] bundle3 = AppBundlePacker.Pack("DemoAppV3.Entry", [new("DemoAppV3.pe", TestApps.Build("DemoAppV3", false, paddingBytes: 8 * 1024))]);
            var image3 = FirmwareImage.Create(bundle3, new FirmwareVersion(3, 0, 0), signer, Chunk, ChunkHashKind.HmacSha256PublicKey);
            started = DateTime.UtcNow;
            RolloutResult r2 = await gateway.RunRolloutAsync(image3, options with { OfflineWait = TimeSpan.FromSeconds(30) }, null, CancellationToken.None);
            await Until(() => boards.All(b => gateway.Registry.Get(b.NodeId) is { State: DeviceState.RolledBack } d && d.Version.SameAs(image2.Version)),
                TimeSpan.FromSeconds(60), "all boards report RolledBack on 2.0.0");
            output.WriteLine($"rollout 2: {r2.Updated} updated, {r2.Failed} failed of {r2.Devices}, {(DateTime.UtcNow - started).TotalSeconds:0.0} s");
            Assert.Equal(0, r2.Updated);
            Assert.False(r2.TimedOut, "the rollout must end when every board has rolled back");
            foreach (var b in boards)
            {
                var lines = b.Lines;
                Assert.Contains(lines, l => l.Contains("application not started: DemoAppV3.Entry.Start() reported failure"));
                Assert.Contains(lines, l => l.Contains("rolled back to 2.0.0"));
                Assert.Contains(b.CurrentBootLines(), l => l.Contains("entry DemoAppV2.Entry started"));
            }
        }
        catch
        {
            foreach (var b in boards) output.WriteLine($"---- board {b.NodeId}\n" + string.Join("\n", b.Lines.TakeLast(60)));
            foreach (var b in boards) output.WriteLine($"gateway's record of {b.NodeId}: {gateway.Registry.Get(b.NodeId)}");
            throw;
        }
        finally
        {
            foreach (var b in boards) await b.DisposeAsync();
        }
    }

    private static byte[] PublicPoint(ManifestSigner signer)
    {
        using ECDsa k = signer.PublicKey();
        ECParameters p = k.ExportParameters(false);
        return [0x04, .. p.Q.X!, .. p.Q.Y!];
    }

    private static async Task<int> WaitForSlotFiles(EmulatedBoard b, string slot, int atLeast, Task rollout)
    {
        string dir = b.Root + "iotota";
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline && !rollout.IsCompleted)
        {
            int n = Directory.Exists(dir) ? Directory.GetFiles(dir, slot + ".*").Length : 0;
            if (n >= atLeast) return n;
            await Task.Delay(10);
        }
        throw new TimeoutException($"board {b.NodeId} never wrote {atLeast} sectors of {slot}");
    }

    private static async Task Until(Func<bool> done, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!done())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("timed out waiting until " + what);
            await Task.Delay(50);
        }
    }
}
