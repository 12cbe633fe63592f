// Reference stand-in for nanoFramework.System.IO.Streams 1.1.96 (assembly System.IO.Streams), transcribed from
// github.com/nanoframework/System.IO.Streams at tag v1.1.96 (the version nanoFramework.System.IO.FileSystem 1.1.93
// depends on). Only the members the board program uses through FileStream.
[assembly: System.Reflection.AssemblyVersion("1.1.96.0")]

namespace System.IO
{
    // System.IO.Streams/SeekOrigin.cs:14
    public enum SeekOrigin
    {
        Begin = 0,
        Current = 1,
        End = 2,
    }

    // System.IO.Streams/Stream.cs:13
    public abstract class Stream : MarshalByRefObject, IDisposable
    {
        // System.IO.Streams/Stream.cs:56
        public abstract long Length { get; }
        // System.IO.Streams/Stream.cs:120
        public virtual void Close() { throw null; }
        // System.IO.Streams/Stream.cs:188
        public void Dispose() { throw null; }
        // System.IO.Streams/Stream.cs:218
        public abstract void Flush();
        // System.IO.Streams/Stream.cs:226
        public abstract long Seek(long offset, SeekOrigin origin);
        // System.IO.Streams/Stream.cs:250
        public abstract int Read(byte[] buffer, int offset, int count);
        // System.IO.Streams/Stream.cs:275
        public abstract void Write(byte[] buffer, int offset, int count);
    }
}
