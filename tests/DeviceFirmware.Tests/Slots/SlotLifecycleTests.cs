using IotOta.DeviceFirmware.Agent;
using IotOta.DeviceFirmware.Flash;
using IotOta.DeviceFirmware.Ports;
using IotOta.DeviceFirmware.Slots;
using IotOta.DeviceFirmware.Tests.Fakes;
using IotOta.DeviceFirmware.Tests.Support;
using IotOta.Gateway.Images;
using IotOta.Shared.Protocol;
using IotOta.VirtualDevice.Platform;
using static IotOta.DeviceFirmware.Tests.Support.Images;

namespace IotOta.DeviceFirmware.Tests.Slots;

/// <summary>Start, admission of manifests, install, trial, confirmation and rollback, on a real boot-data partition.</summary>
public sealed class SlotLifecycleTests : IDisposable
{
    private readonly TempFlash _flash = new(sectors: 8);
    private readonly IFlashPartition _bootData;
    private readonly IFlashPartition _slot;
    private readonly DotNetHashPort _hash = new();
    private readonly RecordingLog _log = new();
    private readonly DeviceCounters _counters = new();

    public SlotLifecycleTests()
    {
        _bootData = _flash.Partition(0, 2);
        _slot = _flash.Partition(2, 6);
    }

    public void Dispose()
    {
        _hash.Dispose();
        _flash.Dispose();
    }

    private SlotLifecycle Booted()
    {
        var life = new SlotLifecycle(_bootData, V(1, 0, 0), _counters, new DeviceLog(_log, 1));
        life.Boot();
        return life;
    }

    /// <summary>Writes the image into the slot and installs it; returns whether the lifecycle installed it.</summary>
    private bool Install(SlotLifecycle life, FirmwareImage img, bool sinkCompletes = true, bool corrupt = false)
    {
        _slot.Erase(0, _slot.Size);
        byte[] bytes = (byte[])img.Bytes.Clone();
        if (corrupt) bytes[10] ^= 0x40;
        _slot.Write(0, bytes, 0, bytes.Length);
        return life.Install(img.Manifest, _slot, new Sink(sinkCompletes), _hash, new byte[300]);
    }

    [Fact]
    public void A_new_device_runs_the_factory_image_confirmed_in_slot_A()
    {
        SlotLifecycle life = Booted();
        Assert.Equal(DeviceState.Idle, life.State);
        Assert.Equal("1.0.0", life.RunningVersion.ToString());
        Assert.Equal(0, life.ActiveSlot);
        Assert.Equal(1, life.InactiveSlot);
        Assert.False(life.OnTrial);
    }

    [Fact]
    public void Admits_newer_images_and_signed_rollbacks_only()
    {
        SlotLifecycle life = Booted();
        Assert.Equal(SlotLifecycle.Accept, life.Admit(Create(V(1, 1, 0)).Manifest));
        Assert.Equal(SlotLifecycle.Running, life.Admit(Create(V(1, 0, 0)).Manifest));
        Assert.Equal(SlotLifecycle.Refuse, life.Admit(Create(V(0, 9, 0)).Manifest));
        Assert.Contains("older than running", life.WhyRefused);
        Assert.Equal(SlotLifecycle.Accept, life.Admit(Create(V(0, 9, 0), rollback: true).Manifest));
    }

    [Fact]
    public void An_installed_image_boots_on_trial_defers_manifests_and_is_confirmed()
    {
        SlotLifecycle life = Booted();
        var img = Create(V(1, 1, 0), chunks: 20);
        Assert.True(Install(life, img));
        Assert.Equal(DeviceState.Installing, life.State);
        Assert.Equal(1, _counters.Installs);

        SlotLifecycle next = Booted(); // the restart
        Assert.True(next.OnTrial);
        Assert.Equal(DeviceState.PendingConfirm, next.State);
        Assert.Equal(1, next.ActiveSlot);
        Assert.Equal("1.1.0", next.RunningVersion.ToString());
        Assert.Equal(SlotLifecycle.Defer, next.Admit(Create(V(1, 2, 0)).Manifest));
        Assert.Equal(1, _counters.ManifestsDeferred);
        Assert.True(next.TrialExpired(5000, 1000, 4000));
        Assert.False(next.TrialExpired(4999, 1000, 4000));

        Assert.True(next.Confirm());
        Assert.Equal(DeviceState.Updated, next.State);
        Assert.False(next.Confirm());
        Assert.False(next.TrialExpired(99999, 0, 1));
        SlotLifecycle after = Booted();
        Assert.False(after.OnTrial);
        Assert.Equal("1.1.0", after.RunningVersion.ToString());
        Assert.Equal(SlotLifecycle.Accept, after.Admit(Create(V(1, 2, 0)).Manifest));
    }

    [Fact]
    public void An_image_never_confirmed_is_rolled_back_and_refused_afterwards()
    {
        SlotLifecycle life = Booted();
        var img = Create(V(1, 1, 0), chunks: 20);
        Assert.True(Install(life, img));
        SlotLifecycle trial = Booted();
        trial.AbandonTrial("test");
        Assert.Equal(1, _counters.TrialsAbandoned);

        SlotLifecycle back = Booted();
        Assert.Equal(DeviceState.RolledBack, back.State);
        Assert.Equal(0, back.ActiveSlot);
        Assert.Equal("1.0.0", back.RunningVersion.ToString());
        Assert.Equal(img.ImageId, back.Record.PreviousImageId);
        Assert.Equal(SlotLifecycle.Refuse, back.Admit(img.Manifest));
        Assert.Contains("failed its trial", back.WhyRefused);
        Assert.Contains(_log.Lines, l => l.Contains("rolled back to 1.0.0"));
    }

    [Fact]
    public void A_corrupt_image_or_a_refusing_sink_is_not_installed()
    {
        SlotLifecycle life = Booted();
        var img = Create(V(1, 1, 0), chunks: 20);
        Assert.False(Install(life, img, corrupt: true));
        Assert.Equal(DeviceState.Failed, life.State);
        Assert.False(Install(life, img, sinkCompletes: false));
        Assert.Equal(DeviceState.Failed, life.State);
        Assert.Equal(2, _counters.ImageVerifyFailures);
        Assert.Equal(0, _counters.Installs);
        SlotLifecycle again = Booted();
        Assert.Equal(0, again.ActiveSlot);
        Assert.False(again.OnTrial);
    }

    private sealed class Sink(bool completes) : IImageSink
    {
        public bool SequentialOnly => false;
        public int NextOffset => 0;
        public void Begin(int slot, int imageSize) { }
        public bool Resume(int slot, int imageSize, int offset) => true;
        public void Write(int offset, byte[] buffer, int bufferOffset, int count) { }
        public bool Complete() => completes;
    }
}
