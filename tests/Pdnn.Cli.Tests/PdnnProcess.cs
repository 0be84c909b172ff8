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

    /// <summary>Starts pdnn without waiting for it, its output discarded (for a test that kills it part-way).</summary>
    public static Process Start(params string[] args) => Start(_ => { }, args);

    /// <summary>Starts pdnn without waiting for it; every line it prints (stdout and stderr) goes to <paramref name="onLine"/>.</summary>
    public static Process Start(Action<string> onLine, params string[] args)
    {
        var process = Process.Start(Info(args))!;
        process.OutputDataReceived += (_, e) => { if (e.Data != null) onLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data != null) onLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    static ProcessStartInfo Info(string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "pdnn.dll"));
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment["PDNN_CACHE_DIR"] = CacheDir;
        return info;
    }

    public static Result Run(params string[] args)
    {
        using var process = Process.Start(Info(args))!;
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
