namespace Pdnn.Tests;

/// <summary>Where the real data for tests lives: the sample bundled in the repository, and ../shared/data beside it.</summary>
public static class TestPaths
{
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>The bundled CIFAR-10 sample (2,000 train, 500 test real images), always present.</summary>
    public static string Sample => Path.Combine(RepoRoot, "samples", "data", "cifar10-sample");

    /// <summary>../shared/data beside the checkout, or $PDNN_SHARED_DATA; null where this machine has no copy.</summary>
    public static string? SharedData
    {
        get
        {
            var env = Environment.GetEnvironmentVariable("PDNN_SHARED_DATA");
            if (!string.IsNullOrEmpty(env) && Directory.Exists(env)) return env;
            var beside = Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "data"));
            return Directory.Exists(beside) ? beside : null;
        }
    }

    /// <summary>A folder of ../shared/data; the test is reported inconclusive (skipped) where the copy is absent.</summary>
    public static string RequireShared(string relative)
    {
        var path = SharedData is { } root ? Path.Combine(root, relative) : null;
        if (path == null || !Path.Exists(path))
            Assert.Inconclusive($"real data '{relative}' not found (../shared/data or $PDNN_SHARED_DATA).");
        return path!;
    }

    public static string NewTempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "pdnn-tests", Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Pdnn.MLNet.sln"))) return dir.FullName;
        throw new InvalidOperationException($"Pdnn.MLNet.sln not found above {AppContext.BaseDirectory}.");
    }
}
