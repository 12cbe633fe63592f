using System;
using System.Reflection;
using IotOta.DeviceFirmware.Ports;

namespace IotOta.Board.Loader
{
    /// <summary>
    /// Loads the application bundle of the active slot the way stock nanoFramework can (nanoframework/Samples
    /// samples/AzureSDK/AzureEdgeOta/AzureEdgeOTAEngine/Program.cs, LoadAssemblies: read each .pe into a byte array,
    /// <c>Assembly.Load(byte[])</c>, <c>GetType(name)</c>, <c>GetMethod("Start")</c>, <c>Invoke</c>): every assembly in
    /// bundle order (dependencies first), then the entry type's public static <c>Start()</c>. Its result is the
    /// application's self-test: a <c>bool</c> false, an exception, a missing type or method, or an assembly the
    /// runtime refuses all fail it. Each assembly is read into one byte array of its size; whether the runtime keeps that
    /// array for the assembly's lifetime (so the application's .pe sizes count against the managed heap) is not measured.
    /// </summary>
    public sealed class BundleLoader
    {
        private readonly ILogPort _log;

        public BundleLoader(ILogPort log)
        {
            _log = log;
        }

        /// <summary>The last loaded entry type (null before a load succeeded).</summary>
        public string LoadedEntry { get; private set; }

        /// <summary>Loads and starts the bundle in <paramref name="slot"/>. Returns null on success, else why not.
        /// <paramref name="empty"/> is true when the slot simply holds no bundle.</summary>
        public string LoadAndStart(IFlashPartition slot, out bool empty)
        {
            string why;
            AppBundle b = AppBundle.Read(slot, out why);
            empty = b == null && why != null && why.IndexOf("is empty") >= 0;
            if (b == null) return why;
            Assembly entryAssembly = null;
            Type entry = null;
            for (int i = 0; i < b.Count; i++)
            {
                byte[] pe = new byte[b.Lengths[i]];
                slot.Read(b.Offsets[i], pe, 0, pe.Length);
                Assembly a;
                try
                {
                    a = Assembly.Load(pe);
                }
                catch (Exception e)
                {
                    return "the runtime refused " + b.Names[i] + ": " + e.Message;
                }
                if (a == null) return "the runtime refused " + b.Names[i];
                if (entry == null)
                {
                    entry = a.GetType(b.EntryType);
                    if (entry != null) entryAssembly = a;
                }
                pe = null;
            }
            if (entry == null) return "no assembly of the bundle defines " + b.EntryType;
            MethodInfo start = entry.GetMethod("Start");
            if (start == null) return b.EntryType + " has no public static Start()";
            object result;
            try
            {
                result = start.Invoke(null, null);
            }
            catch (Exception e)
            {
                Exception inner = e.InnerException != null ? e.InnerException : e;
                return b.EntryType + ".Start() threw " + inner.Message;
            }
            if (result is bool && !(bool)result) return b.EntryType + ".Start() reported failure";
            LoadedEntry = b.EntryType;
            Log("bundle loaded: slot " + slot.Name + ", " + b.Count + " assemblies, entry " + b.EntryType + " started (" + entryAssembly.FullName + ")");
            return null;
        }

        private void Log(string m)
        {
            if (_log != null) _log.Log(m);
        }
    }
}
