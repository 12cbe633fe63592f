using IotOta.Gateway.Images;

namespace IotOta.DeviceFirmware.Tests.Support;

/// <summary>Signing keys shared by all tests (key generation is slow-ish): the trusted one (id 1), an untrusted key
/// that claims id 1, and one under an id the devices do not know.</summary>
public static class TestKeys
{
    public const byte TrustedId = 1;
    public const byte UnknownId = 9;

    public static readonly ManifestSigner Trusted = ManifestSigner.Generate(TrustedId);
    public static readonly ManifestSigner Impostor = ManifestSigner.Generate(TrustedId);
    public static readonly ManifestSigner Unknown = ManifestSigner.Generate(UnknownId);
}
