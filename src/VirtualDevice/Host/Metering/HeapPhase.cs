namespace IotOta.VirtualDevice.Host.Metering;

/// <summary>The phases the core heap is measured and budgeted in, each on its own.</summary>
public enum HeapPhase
{
    /// <summary>From boot until the install: construction, start, member lists, the manifest, every packet.</summary>
    Receive,
    /// <summary>The install: the whole-image check and the boot-slot switch (one call).</summary>
    Install,
    /// <summary>The boot after an install, until a new manifest is taken: resume, the trial's confirmation, serving peers.</summary>
    AfterInstall,
}
