// Reference stand-in for nanoFramework.System.Threading 1.1.52 (assembly System.Threading), transcribed from
// github.com/nanoframework/System.Threading at tag v1.1.52. Needed for WifiNetworkHelper.ConnectDhcp's token.
[assembly: System.Reflection.AssemblyVersion("1.1.52.0")]

namespace System.Threading
{
    // nanoFramework.System.Threading/Threading/CancellationToken.cs:26
    public struct CancellationToken
    {
        private object _source;
    }

    // nanoFramework.System.Threading/Threading/CancellationTokenSource.cs:26
    public class CancellationTokenSource : IDisposable
    {
        // nanoFramework.System.Threading/Threading/CancellationTokenSource.cs:180
        public CancellationTokenSource(int millisecondsDelay) { throw null; }
        // nanoFramework.System.Threading/Threading/CancellationTokenSource.cs:113
        public CancellationToken Token { get { throw null; } }
        // nanoFramework.System.Threading/Threading/CancellationTokenSource.cs:441
        public void Dispose() { throw null; }
    }
}
