using System.Xml.Linq;

namespace IotOta.Architecture.Tests;

/// <summary>One csproj as the dependency rule reads it: its folder (repository-relative, e.g. "src/Gateway.Core"), SDK,
/// project references (as folders), package and framework references.</summary>
public sealed record ProjectFile(string Folder, string Sdk, IReadOnlyList<string> Projects, IReadOnlyList<string> Packages, IReadOnlyList<string> Frameworks)
{
    /// <summary>The repository root: the folder above the test's output that holds IotOta.sln.</summary>
    public static string RepositoryRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "IotOta.sln"))) return d.FullName;
        throw new InvalidOperationException("IotOta.sln not found above " + AppContext.BaseDirectory);
    }

    /// <summary>Every csproj under src/ (bin and obj excluded).</summary>
    public static IReadOnlyList<ProjectFile> UnderSrc(string root) =>
        Directory.EnumerateFiles(Path.Combine(root, "src"), "*.csproj", SearchOption.AllDirectories)
            .Where(p => !p.Contains("/bin/") && !p.Contains("/obj/"))
            .Select(p => Read(root, p)).OrderBy(p => p.Folder).ToList();

    public static ProjectFile Read(string root, string path)
    {
        var doc = XDocument.Load(path);
        string dir = Path.GetDirectoryName(path)!;
        IEnumerable<string> Items(string name) => doc.Descendants(name).Select(e => (string?)e.Attribute("Include")).OfType<string>();
        return new ProjectFile(
            Relative(root, dir),
            (string?)doc.Root!.Attribute("Sdk") ?? "",
            Items("ProjectReference").Select(r => Relative(root, Path.GetDirectoryName(Path.GetFullPath(Path.Combine(dir, r)))!)).ToList(),
            Items("PackageReference").ToList(),
            Items("FrameworkReference").ToList());
    }

    private static string Relative(string root, string dir) => Path.GetRelativePath(root, dir).Replace('\\', '/');
}
