using System.Diagnostics;
using Pdnn.Tests;
using Pdnn.Torch.Storage;

namespace Pdnn.Torch.Tests;

[TestClass]
public sealed class OutputLockTests
{
    /// <summary>Exit code of util-linux's `flock -n FILE true`: 0 when it got the lock, 1 when another holder has it.</summary>
    static int FlockFromAnotherProcess(string file)
    {
        using var flock = Process.Start(new ProcessStartInfo("flock", ["-n", file, "true"]) { RedirectStandardError = true })!;
        flock.WaitForExit();
        return flock.ExitCode;
    }

    [TestMethod]
    public void AnotherProcessSeesTheLockUntilItIsReleased()
    {
        var output = Path.Combine(TestPaths.NewTempDir(), "run");
        var file = OutputLock.PathOf(output);
        using (OutputLock.Take(output))
        {
            Assert.AreEqual(1, FlockFromAnotherProcess(file), "another process cannot take the lock while this run holds it");
            Assert.ThrowsExactly<InvalidOperationException>(() => OutputLock.Take(output), "nor can a second run in this process");
        }
        Assert.IsFalse(File.Exists(file), "released normally, the lock file is removed");
        File.WriteAllText(file, ""); // what a killed run leaves: the file, without the lock (the kernel dropped it)
        Assert.AreEqual(0, FlockFromAnotherProcess(file));
        using (OutputLock.Take(output)) Assert.AreEqual(1, FlockFromAnotherProcess(file), "a left-over file does not block the next run");
    }
}
