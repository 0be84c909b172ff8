using System.Diagnostics;
using Pdnn.Tests;

namespace Pdnn.Cli.Tests;

/// <summary>Runs the built pdnn tool as a separate process, as a user would, and captures what it prints.</summary>
static class PdnnProcess
{
    public sealed record Result(int ExitCode, string Output)
    {
        public override string ToString() => $"exit {ExitCode}:\n{Output}";
    }

    public static Result Run(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "pdnn.dll"));
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment["PDNN_CACHE_DIR"] = CacheDir;
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"pdnn {string.Join(' ', args)} did not finish in 5 minutes");
        }
        return new Result(process.ExitCode, stdout.Result + stderr.Result);
    }

    static readonly string CacheDir = TestPaths.NewTempDir();
}
