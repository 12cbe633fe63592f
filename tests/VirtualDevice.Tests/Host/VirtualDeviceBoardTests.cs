using IotOta.TestSupport;
using IotOta.BoardProfiles;
using IotOta.VirtualDevice.Host;
using IotOta.VirtualDevice.Platform;
using IotOta.VirtualDevice.Tests.Support;
using MQTTnet;
using MQTTnet.Server;

namespace IotOta.VirtualDevice.Tests.Host;

/// <summary>A virtual device built from a board profile takes its flash layout, sink mode and chunk size from it.</summary>
public sealed class VirtualDeviceBoardTests
{
    [Theory]
    [InlineData("esp32-c3")]
    [InlineData("esp32-s3-devkitc")]
    public async Task A_board_profile_decides_layout_sink_and_chunk_size(string board)
    {
        int port = FreePort.Get();
        MqttServer server = new MqttServerFactory().CreateMqttServer(new MqttServerOptionsBuilder()
            .WithDefaultEndpoint().WithDefaultEndpointBoundIPAddress(System.Net.IPAddress.Loopback)
            .WithDefaultEndpointPort(port).WithDefaultEndpointReuseAddress().Build());
        await server.StartAsync();
        using var dir = new TempDir();
        using var verifier = new EcdsaSignatureVerifier();
        BoardProfile b = BoardProfile.Named(board);
        var host = new VirtualDeviceHost(new VirtualDeviceOptions
        {
            NodeId = 7, GroupId = 1, BrokerHost = "127.0.0.1", BrokerPort = port, DataDir = dir.Path, Verifier = verifier,
            Board = b, MaxChunkSize = 65536, SlotSize = 16 * 1024 * 1024, // ignored: the board decides
        });
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await host.StartAsync(cts.Token);
            Assert.Equal(b.MaxChunkSize, host.Agent.Config.MaxChunkSize);
            Assert.Equal(b.SlotSize, host.Flash.Slot(0).Size);
            Assert.Equal(b.SlotSize, host.Flash.Slot(1).Size);
            Assert.Equal(b.UpdateStateSize, host.Flash.UpdateState.Size);
            Assert.Equal(b.StagingSize, host.Flash.Staging!.Size);
            Assert.True(host.Agent.SequentialSink);
            Assert.NotNull(host.Sink);
            int entry = (16 + b.MaxChunkSize + 4095) / 4096 * 4096;
            Assert.Equal(b.StagingSize / entry, host.Agent.StagingCapacity);
            Assert.Equal(0, host.StagingHighWater);
        }
        finally
        {
            await host.DisposeAsync();
            await server.StopAsync(new MqttServerStopOptions());
            server.Dispose();
        }
    }

    [Fact]
    public async Task Without_a_board_the_device_keeps_random_offset_writes()
    {
        int port = FreePort.Get();
        MqttServer server = new MqttServerFactory().CreateMqttServer(new MqttServerOptionsBuilder()
            .WithDefaultEndpoint().WithDefaultEndpointBoundIPAddress(System.Net.IPAddress.Loopback)
            .WithDefaultEndpointPort(port).WithDefaultEndpointReuseAddress().Build());
        await server.StartAsync();
        using var dir = new TempDir();
        using var verifier = new EcdsaSignatureVerifier();
        var host = new VirtualDeviceHost(new VirtualDeviceOptions
        {
            NodeId = 8, GroupId = 1, BrokerHost = "127.0.0.1", BrokerPort = port, DataDir = dir.Path, Verifier = verifier,
            SlotSize = 128 * 1024, MaxChunkSize = 1024,
        });
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await host.StartAsync(cts.Token);
            Assert.False(host.Agent.SequentialSink);
            Assert.Null(host.Sink);
            Assert.Null(host.Flash.Staging);
            Assert.Equal(0, host.Agent.StagingCapacity);
            Assert.Equal(1024, host.Agent.Config.MaxChunkSize);
            Assert.Equal(128 * 1024, host.Flash.Slot(1).Size);
        }
        finally
        {
            await host.DisposeAsync();
            await server.StopAsync(new MqttServerStopOptions());
            server.Dispose();
        }
    }
}
