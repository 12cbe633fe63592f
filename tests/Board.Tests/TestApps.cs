using System.Reflection;
using System.Reflection.Emit;

namespace IotOta.Board.Tests;

/// <summary>
/// Application assemblies for bundles, made on the fly (System.Reflection.Emit.PersistedAssemblyBuilder): on .NET the
/// board loads real .NET assemblies where a board loads .pe files. An entry type "{name}.Entry" with
/// <c>public static bool Start()</c> returning <paramref name="selfTest"/>, and optionally a block of data so the
/// bundle is large enough to be cut mid-update.
/// </summary>
public static class TestApps
{
    public static byte[] Build(string name, bool selfTest, int paddingBytes = 0)
    {
        var ab = new PersistedAssemblyBuilder(new AssemblyName(name), typeof(object).Assembly);
        ModuleBuilder mb = ab.DefineDynamicModule(name);
        TypeBuilder tb = mb.DefineType(name + ".Entry", TypeAttributes.Public | TypeAttributes.Class | TypeAttributes.Sealed | TypeAttributes.Abstract);
        MethodBuilder start = tb.DefineMethod("Start", MethodAttributes.Public | MethodAttributes.Static, typeof(bool), Type.EmptyTypes);
        ILGenerator il = start.GetILGenerator();
        il.Emit(selfTest ? OpCodes.Ldc_I4_1 : OpCodes.Ldc_I4_0);
        il.Emit(OpCodes.Ret);
        if (paddingBytes > 0)
        {
            var data = new byte[paddingBytes];
            new Random(name.GetHashCode()).NextBytes(data);
            tb.DefineInitializedData("Payload", data, FieldAttributes.Public | FieldAttributes.Static);
        }
        tb.CreateType();
        using var ms = new MemoryStream();
        ab.Save(ms);
        return ms.ToArray();
    }
}
