namespace Pdnn.Torch.Storage;

/// <summary>
/// Held by a run for as long as it writes an output (a training checkpoint, an evaluation journal), so that a second
/// run on the same output is refused at its start instead of both writing to it and overwriting each other's steps.
/// The lock is the operating system's (an exclusive open of &lt;output&gt;.lock; on Linux .NET takes it with flock):
/// the kernel drops it when the process ends in any way, SIGKILL included, so a killed run never leaves a stale lock.
/// The file is deleted when the lock is released normally; one left by a killed run is harmless.
/// </summary>
public sealed class OutputLock : IDisposable
{
    readonly FileStream file;

    OutputLock(FileStream file) => this.file = file;

    /// <summary>The lock file of <paramref name="output"/>: beside it, so that a folder swapped in and out whole (a checkpoint) keeps it.</summary>
    public static string PathOf(string output) => Path.TrimEndingDirectorySeparator(Path.GetFullPath(output)) + ".lock";

    /// <summary>Takes the lock of <paramref name="output"/> (a file or folder, which need not exist yet).</summary>
    /// <exception cref="InvalidOperationException">another run (in this process or another) holds it.</exception>
    public static OutputLock Take(string output)
    {
        var path = PathOf(output);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        try
        {
            return new OutputLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None,
                                                 bufferSize: 1, FileOptions.DeleteOnClose));
        }
        catch (IOException e)
        {
            throw new InvalidOperationException(
                $"{output} is being written by another run, which holds {path}: two runs writing one output would overwrite each " +
                "other's work. Let it finish or stop it (it releases the lock however it ends), or give this run another output folder.", e);
        }
    }

    public void Dispose() => file.Dispose();
}
