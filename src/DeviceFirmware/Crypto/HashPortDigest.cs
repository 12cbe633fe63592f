using IotOta.DeviceFirmware.Ports;
using IotOta.Shared.Protocol;

namespace IotOta.DeviceFirmware.Crypto
{
    /// <summary>
    /// The hash-list tree's SHA-256 (<see cref="IHashListDigest"/>) on the platform's streaming SHA-256 that the
    /// whole-image check already uses (<see cref="IHashPort.ImageHashBegin"/>): no managed SHA-256 state of its own.
    /// Safe because both run under the agent's lock and a hash-list check never overlaps the whole-image check.
    /// </summary>
    public sealed class HashPortDigest : IHashListDigest
    {
        private readonly IHashPort _hash;

        public HashPortDigest(IHashPort hash)
        {
            _hash = hash;
        }

        public void Begin() { _hash.ImageHashBegin(); }
        public void Append(byte[] data, int offset, int count) { _hash.ImageHashAppend(data, offset, count); }
        public void Finish(byte[] output, int outputOffset) { _hash.ImageHashFinish(output, outputOffset); }
    }
}
