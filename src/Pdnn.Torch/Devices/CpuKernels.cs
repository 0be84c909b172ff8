using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Pdnn.Torch.Devices;

/// <summary>
/// Which CPU kernels libtorch's oneDNN may use. On a 2-core AMD EPYC with AVX-512 and AVX-512 BF16 (2026-11-27;
/// libtorch 2.10, oneDNN 3.7.1) its AVX-512 convolution kernels computed wrong results: NaN input gradients in 5–65% of
/// calls of any convolution whose output channels are not a multiple of 16 (the SR generator's and inpainter's 3-channel
/// output layers, the tiny ResNet's 8), so training diverged and attacks through NSR and FIR were silently blunted, and
/// grouped convolutions on channels-last tensors off by 0.3. Its AVX2 kernels gave correct results in every probe. On
/// AMD CPUs that offer AVX-512, oneDNN is therefore capped at AVX2 (DNNL_MAX_CPU_ISA=AVX2), before its first
/// convolution. Float32 convolutions there lose little (ResNet-20 training 294 against 334 images/s); bfloat16 ones
/// lose their fast kernels (use float32 there). Intel CPUs, whose AVX-512 and AMX kernels every earlier measurement used,
/// are left as they are. An explicit DNNL_MAX_CPU_ISA (or ONEDNN_MAX_CPU_ISA) is respected; PDNN_ONEDNN_ISA=native turns
/// the cap off.
/// </summary>
public static class CpuKernels
{
    public const string OverrideVariable = "PDNN_ONEDNN_ISA";
    static readonly object Gate = new();
    static bool _configured;

    /// <summary>What was decided, for the device line (null until <see cref="Configure"/> has run; "" when nothing was changed).</summary>
    public static string? Note { get; private set; }

    [ModuleInitializer]
    internal static void OnLoad() => Configure();

    /// <summary>Applies the cap where it is needed; idempotent. Must run before the process's first convolution.</summary>
    public static void Configure()
    {
        lock (Gate)
        {
            if (_configured) return;
            _configured = true;
            Note = Decide(Environment.GetEnvironmentVariable, File.Exists("/proc/cpuinfo") ? File.ReadAllText("/proc/cpuinfo") : "", out var isa);
            if (isa != null && setenv("DNNL_MAX_CPU_ISA", isa, 0) != 0)
                Note = $"could not set DNNL_MAX_CPU_ISA (errno {Marshal.GetLastPInvokeError()}): oneDNN runs its default kernels";
        }
    }

    /// <summary>The decision, from the environment and /proc/cpuinfo's text: a note and the ISA to cap oneDNN at (null: leave it).</summary>
    public static string Decide(Func<string, string?> environment, string cpuinfo, out string? isa)
    {
        isa = null;
        var set = environment("ONEDNN_MAX_CPU_ISA") is { Length: > 0 } onednn ? onednn : environment("DNNL_MAX_CPU_ISA");
        if (!string.IsNullOrEmpty(set)) return $"oneDNN capped at {set} by the environment";
        if (string.Equals(environment(OverrideVariable), "native", StringComparison.OrdinalIgnoreCase)) return "";
        bool amd = cpuinfo.Contains("AuthenticAMD", StringComparison.Ordinal);
        bool avx512 = cpuinfo.Split('\n').Any(l => l.StartsWith("flags", StringComparison.Ordinal) && l.Split(' ').Contains("avx512f"));
        if (!amd || !avx512) return "";
        isa = "AVX2";
        return $"oneDNN capped at AVX2: its AVX-512 convolutions gave wrong gradients on an AMD CPU ({OverrideVariable}=native to lift)";
    }

    [DllImport("libc", SetLastError = true)]
    static extern int setenv(string name, string value, int overwrite);
}
