// Reference stand-in for nanoFramework.Runtime.Native 1.7.11 (NuGet nanoFramework.Runtime.Native 1.7.11), transcribed
// from github.com/nanoframework/nanoFramework.Runtime.Native at tag v1.7.11 (commit a7c24bd). Only the members the
// board program uses; paths and lines are of that tag.
[assembly: System.Reflection.AssemblyVersion("1.7.11.0")]

namespace nanoFramework.Runtime.Native
{
    // nanoFramework.Runtime.Native/RebootOption.cs:9
    public enum RebootOption
    {
        NormalReboot = 0,
        EnterNanoBooter = 1,
        ClrOnly = 2,
        EnterProprietaryBooter = 8,
    }

    // nanoFramework.Runtime.Native/Power.cs:19
    public class Power
    {
        private Power() { }

        // nanoFramework.Runtime.Native/Power.cs:42 — runs the OnRebootEvent handlers, then NativeReboot
        public static void RebootDevice(RebootOption rebootOption = RebootOption.NormalReboot) { throw null; }
    }
}

namespace System
{
    // nanoFramework.Runtime.Native/System/Environment.cs:11
    public static partial class Environment
    {
        // nanoFramework.Runtime.Native/System/Environment.cs:22 — "milliseconds elapsed since the system started"
        // (InternalCall): monotonic, unaffected by SNTP or RTC changes, unlike DateTime.UtcNow.
        public static long TickCount64 { get { throw null; } }
    }
}
