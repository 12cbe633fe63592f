using System.Reflection;
using System.Security.Cryptography;
using IotOta.Gateway.Images;
using IotOta.Shared.Protocol;

namespace IotOta.Gateway.Persistence;

/// <summary>Rebuilds a <see cref="FirmwareImage"/> from stored bytes and the manifest signed at upload (the signing
/// key is not needed again). FirmwareImage has only a private constructor (src/Gateway/Images is outside this
/// layer), so it is reached by reflection; the image is checked against the manifest's whole-image hash.</summary>
internal static class ImageRestore
{
    private static readonly ConstructorInfo Ctor = typeof(FirmwareImage).GetConstructor(BindingFlags.NonPublic | BindingFlags.Instance,
        [typeof(byte[]), typeof(Manifest), typeof(byte[])]) ?? throw new MissingMethodException("FirmwareImage(byte[], Manifest, byte[])");

    public static FirmwareImage FromStored(byte[] bytes, byte[] manifestBytes)
    {
        var m = Manifest.Decode(manifestBytes, 0, manifestBytes.Length);
        if (m.ImageSize != (uint)bytes.Length || !SHA256.HashData(bytes).AsSpan().SequenceEqual(m.ImageHash))
            throw new InvalidDataException($"stored image {m.ImageId:x8} does not match its manifest");
        return (FirmwareImage)Ctor.Invoke([bytes, m, manifestBytes]);
    }
}
