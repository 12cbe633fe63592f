using System.Text;

namespace IotOta.Gateway.Images;

/// <summary>One assembly of an application bundle: its file name ("App.pe") and bytes.</summary>
public sealed record BundleAssembly(string Name, byte[] Bytes);

/// <summary>
/// Packs the image a board takes: an application bundle — the application's assemblies (nanoFramework .pe files, in
/// load order: dependencies first) with a small header naming each one and the entry type whose public static
/// <c>Start()</c> the board's resident program calls after <c>Assembly.Load</c> (src/Board/Loader). The bundle is then
/// signed, cut and distributed like any image (<see cref="FirmwareImage.Create"/>). Layout (little-endian):
/// u32 magic "IOAB", u16 format 1, u16 count, u32 bundle length, u16 + ASCII entry type, then per assembly u16 + ASCII
/// name, u32 offset, u32 length; then the assemblies. Read back by src/Board/Loader/AppBundle.cs.
/// </summary>
public static class AppBundlePacker
{
    public const uint Magic = 0x42414F49; // "IOAB"
    public const int Format = 1;
    public const int MaxHeaderLength = 1024;
    public const int MaxAssemblies = 32;
    public const int MaxNameLength = 200;

    public static byte[] Pack(string entryType, IReadOnlyList<BundleAssembly> assemblies)
    {
        ArgumentNullException.ThrowIfNull(assemblies);
        CheckName(entryType, "entry type");
        if (assemblies.Count is < 1 or > MaxAssemblies)
            throw new ArgumentException($"a bundle holds 1 to {MaxAssemblies} assemblies, not {assemblies.Count}");
        foreach (var a in assemblies)
        {
            CheckName(a.Name, "assembly name");
            if (a.Bytes is not { Length: > 0 }) throw new ArgumentException($"assembly {a.Name} is empty");
        }
        if (assemblies.Select(a => a.Name).Distinct(StringComparer.OrdinalIgnoreCase).Count() != assemblies.Count)
            throw new ArgumentException("two assemblies of the bundle have the same name");
        int header = 4 + 2 + 2 + 4 + 2 + entryType.Length + assemblies.Sum(a => 2 + a.Name.Length + 4 + 4);
        if (header > MaxHeaderLength)
            throw new ArgumentException($"the bundle header needs {header} bytes; boards read at most {MaxHeaderLength} (shorter names or fewer assemblies)");
        long total = header + assemblies.Sum(a => (long)a.Bytes.Length);
        if (total > int.MaxValue) throw new ArgumentException("bundle larger than 2 GB");
        var b = new byte[total];
        int at = 0;
        void U16(int v) { b[at++] = (byte)v; b[at++] = (byte)(v >> 8); }
        void U32(uint v) { U16((int)(v & 0xFFFF)); U16((int)(v >> 16)); }
        void Text(string s) { U16(s.Length); at += Encoding.ASCII.GetBytes(s, 0, s.Length, b, at); }
        U32(Magic);
        U16(Format);
        U16(assemblies.Count);
        U32((uint)total);
        Text(entryType);
        int data = header;
        foreach (var a in assemblies)
        {
            Text(a.Name);
            U32((uint)data);
            U32((uint)a.Bytes.Length);
            data += a.Bytes.Length;
        }
        foreach (var a in assemblies)
        {
            a.Bytes.CopyTo(b, at);
            at += a.Bytes.Length;
        }
        return b;
    }

    /// <summary>Packs the given .pe files of a build output (in the order given: dependencies first).</summary>
    public static byte[] PackFiles(string entryType, IEnumerable<string> peFiles)
        => Pack(entryType, peFiles.Select(p => new BundleAssembly(Path.GetFileName(p), File.ReadAllBytes(p))).ToList());

    private static void CheckName(string? name, string what)
    {
        if (string.IsNullOrEmpty(name) || name.Length > MaxNameLength || name.Any(c => c < 0x20 || c > 0x7E))
            throw new ArgumentException($"{what} '{name}' must be 1 to {MaxNameLength} printable ASCII characters");
    }
}
