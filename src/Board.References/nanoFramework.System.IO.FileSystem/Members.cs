// Reference stand-in for nanoFramework.System.IO.FileSystem 1.1.93 (assembly System.IO.FileSystem), transcribed from
// github.com/nanoframework/System.IO.FileSystem at tag v1.1.93 (commit 434b26c). Only the members the board program
// uses; on ESP32 the internal littlefs partition is drive I:\ (FileStream.CanSeek true, Write flushes).
[assembly: System.Reflection.AssemblyVersion("1.1.93.0")]

namespace System.IO
{
    // System.IO.FileSystem/FileMode.cs:9
    public enum FileMode
    {
        CreateNew = 1,
        Create = 2,
        Open = 3,
        OpenOrCreate = 4,
        Truncate = 5,
        Append = 6,
    }

    // System.IO.FileSystem/FileAccess.cs:9
    [Flags]
    public enum FileAccess
    {
        Read = 1,
        Write = 2,
        ReadWrite = 3,
    }

    // System.IO.FileSystem/FileSystemInfo.cs:15
    public abstract class FileSystemInfo : MarshalByRefObject
    {
        internal FileSystemInfo() { }
    }

    // System.IO.FileSystem/DirectoryInfo.cs:11
    public sealed class DirectoryInfo : FileSystemInfo
    {
        private DirectoryInfo() { }
    }

    // System.IO.FileSystem/Directory.cs:14
    public static class Directory
    {
        // System.IO.FileSystem/Directory.cs:22
        public static DirectoryInfo CreateDirectory(string path) { throw null; }
        // System.IO.FileSystem/Directory.cs:107
        public static bool Exists(string path) { throw null; }
    }

    // System.IO.FileSystem/File.cs:13
    public static class File
    {
        // System.IO.FileSystem/File.cs:122
        public static void Delete(string path) { throw null; }
        // System.IO.FileSystem/File.cs:176
        public static bool Exists(string path) { throw null; }
    }

    // System.IO.FileSystem/FileStream.cs:11
    public class FileStream : Stream
    {
        // System.IO.FileSystem/FileStream.cs:159
        public FileStream(string path, FileMode mode, FileAccess access) { throw null; }
        // System.IO.FileSystem/FileStream.cs:54
        public override long Length { get { throw null; } }
        // System.IO.FileSystem/FileStream.cs:317
        public override void Close() { throw null; }
        // System.IO.FileSystem/FileStream.cs:375
        public override void Flush() { throw null; }
        // System.IO.FileSystem/FileStream.cs:392
        public override int Read(byte[] buffer, int offset, int count) { throw null; }
        // System.IO.FileSystem/FileStream.cs:454
        public override long Seek(long offset, SeekOrigin origin) { throw null; }
        // System.IO.FileSystem/FileStream.cs:511
        public override void Write(byte[] buffer, int offset, int count) { throw null; }
    }
}
