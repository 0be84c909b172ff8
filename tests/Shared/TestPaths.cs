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

    /// <summary>A new empty folder under this test process's own temporary root, deleted once the assembly's tests have run.</summary>
    public static string NewTempDir()
    {
        var dir = Path.Combine(RunRoot.Value, Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    // One root per test process, removed when its tests end (TempFolderCleanup) and again at exit: the tests write
    // models, journals and checkpoints of up to ~170 MB each, and left behind they filled the disk of the machine that
    // runs CI (2026-11-29). Only this process's root is deleted: test assemblies run side by side in separate processes.
    static readonly Lazy<string> RunRoot = new(() =>
    {
        var root = Path.Combine(Path.GetTempPath(), "pdnn-tests", $"run-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}");
        Directory.CreateDirectory(root);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => DeleteTempDirs();
        return root;
    });

    /// <summary>Deletes every folder <see cref="NewTempDir"/> made in this process (what cannot be deleted stays).</summary>
    public static void DeleteTempDirs()
    {
        if (!RunRoot.IsValueCreated || !Directory.Exists(RunRoot.Value)) return;
        try { Directory.Delete(RunRoot.Value, recursive: true); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Pdnn.MLNet.sln"))) return dir.FullName;
        throw new InvalidOperationException($"Pdnn.MLNet.sln not found above {AppContext.BaseDirectory}.");
    }
}
