// Chunk hashes with the board's native HMACSHA256 (manifests for boards use
// ChunkHashKind.HmacSha256PublicKey), the whole-image SHA-256 with the core's managed Sha256Stream.
using System;
using System.Security.Cryptography;
using IotOta.DeviceFirmware.Crypto;
using IotOta.DeviceFirmware.Ports;
using IotOta.Shared.Protocol;

namespace IotOta.Board.Platform
{
    internal sealed class NativeHashPort : IHashPort
    {
        private static readonly byte[] Key = new byte[]
        {
            // "IotOta public chunk-hash key v1!" (docs/protocol.md)
            0x49, 0x6f, 0x74, 0x4f, 0x74, 0x61, 0x20, 0x70, 0x75, 0x62, 0x6c, 0x69, 0x63, 0x20, 0x63, 0x68,
            0x75, 0x6e, 0x6b, 0x2d, 0x68, 0x61, 0x73, 0x68, 0x20, 0x6b, 0x65, 0x79, 0x20, 0x76, 0x31, 0x21,
        };
        private readonly HMACSHA256 _hmac = new HMACSHA256(Key);
        private readonly Sha256Stream _sha = new Sha256Stream();
        private byte[] _one = new byte[0];

        public void ChunkHash(ChunkHashKind kind, byte[] data, int offset, int count, byte[] output, int outputOffset)
        {
            if (kind == ChunkHashKind.HmacSha256PublicKey)
            {
                // ComputeHash takes a whole array: the packet's payload is copied once into a buffer kept per size.
                if (_one.Length != count) _one = new byte[count];
                Array.Copy(data, offset, _one, 0, count);
                byte[] h = _hmac.ComputeHash(_one);
                Array.Copy(h, 0, output, outputOffset, 32);
                return;
            }
            // SHA-256 chunk hashes work too, in managed code (slow): prefer kind 1 for boards.
            _sha.Begin();
            _sha.Append(data, offset, count);
            _sha.Finish(output, outputOffset);
        }

        public void ImageHashBegin() { _sha.Begin(); }
        public void ImageHashAppend(byte[] data, int offset, int count) { _sha.Append(data, offset, count); }
        public void ImageHashFinish(byte[] output, int outputOffset) { _sha.Finish(output, outputOffset); }
    }
}
