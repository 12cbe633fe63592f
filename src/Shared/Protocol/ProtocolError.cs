namespace IotOta.Shared.Protocol
{
    /// <summary>Why a message was refused. Devices count rejections per reason.</summary>
    public enum ProtocolError : byte
    {
        None = 0,
        Truncated = 1,
        BadMagic = 2,
        UnsupportedVersion = 3,
        UnexpectedType = 4,
        FieldOutOfRange = 5,
        LengthMismatch = 6,
        TrailingBytes = 7,
        BufferTooSmall = 8,
    }
}
