namespace IotOta.Gateway.Security;

/// <summary>Read: subscribe and receive; Write: publish.</summary>
public enum AclAccess
{
    Read,
    Write,
}
