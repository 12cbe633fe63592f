namespace IotOta.TestSupport;

/// <summary>
/// What a test Mosquitto enforces. PasswordFile/AclFile are file contents (a password file with "user:$7$…" hashes
/// and an acl_file); when set, anonymous clients are refused and the username is used as client id. With the three
/// PEM texts the listener speaks TLS only (cafile/certfile/keyfile).
/// </summary>
public sealed record MosquittoSecurity
{
    public string? PasswordFile { get; init; }
    public string? AclFile { get; init; }
    public string? CaPem { get; init; }
    public string? CertPem { get; init; }
    public string? KeyPem { get; init; }

    public bool Authenticates => PasswordFile != null;
    public bool UsesTls => CertPem != null;
}
