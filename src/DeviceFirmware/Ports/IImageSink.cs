namespace IotOta.DeviceFirmware.Ports
{
    /// <summary>
    /// Where verified packets of a new image go: the inactive slot. Two kinds exist on real boards:
    /// random-offset sinks (ESP-IDF-style ota slots, or any erased NOR partition: <see cref="SequentialOnly"/> false)
    /// and sequential-only sessions (nanoFramework In-Field-Update: Begin erases the slot, every Write must start at
    /// <see cref="NextOffset"/>, Complete checks the image). The device core uses it under its own lock only.
    /// </summary>
    public interface IImageSink
    {
        /// <summary>True when writes must follow <see cref="NextOffset"/>; the core stages early packets in flash.</summary>
        bool SequentialOnly { get; }

        /// <summary>Sequential sinks: the offset the next Write must start at (bytes accepted so far). Random-offset
        /// sinks return 0.</summary>
        int NextOffset { get; }

        /// <summary>Starts a new image of imageSize bytes in slot (0 = A, 1 = B): erases what the image needs.</summary>
        void Begin(int slot, int imageSize);

        /// <summary>After a restart: continue the image in slot with the first offset bytes already in place (all
        /// verified). Returns false when the sink cannot resume (a real In-Field-Update session cannot): the core then
        /// calls Begin and keeps only what its staging area holds.</summary>
        bool Resume(int slot, int imageSize, int offset);

        /// <summary>Writes count bytes at offset. A sequential sink throws FlashException unless offset == NextOffset.</summary>
        void Write(int offset, byte[] buffer, int bufferOffset, int count);

        /// <summary>All bytes are written: a sequential session closes (and checks) the image. False when it refuses.</summary>
        bool Complete();
    }
}
