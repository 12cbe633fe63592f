// Reference stand-in for nanoFramework.System.Security.Cryptography 1.0.43 (assembly
// nanoFramework.System.Security.Cryptography), transcribed from github.com/nanoframework/System.Security.Cryptography
// at tag v1.0.43. Only the members the board program uses (native HMAC-SHA256 for chunk hashes).
[assembly: System.Reflection.AssemblyVersion("1.0.43.0")]

namespace System.Security.Cryptography
{
    // System.Security.Cryptography/HMACSHA256.cs:14
    public class HMACSHA256 : IDisposable
    {
        // System.Security.Cryptography/HMACSHA256.cs:90
        public HMACSHA256(byte[] key) { throw null; }
        // System.Security.Cryptography/HMACSHA256.cs:102 — hashes the whole array (no offset/count overload)
        public byte[] ComputeHash(byte[] buffer) { throw null; }
        // System.Security.Cryptography/HMACSHA256.cs:135
        public void Dispose() { throw null; }
    }
}
