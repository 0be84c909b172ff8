namespace Pdnn.Tests;

/// <summary>
/// Deletes the test process's temporary folders once the assembly's tests have run (a process-exit handler alone was
/// cut short at times: the test host may be ended before it finishes).
/// </summary>
[TestClass]
public sealed class TempFolderCleanup
{
    [AssemblyCleanup]
    public static void DeleteTempFolders() => TestPaths.DeleteTempDirs();
}
