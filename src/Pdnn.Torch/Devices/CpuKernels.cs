using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Pdnn.Torch.Devices;

/// <summary>
/// Which CPU kernels libtorch's oneDNN may use. On a 2-core AMD EPYC with AVX-512 and AVX-512 BF16 (2026-11-27;
/// libtorch 2.10, oneDNN 3.7.1) its AVX-512 kernels computed wrong results even on channels-last activations (see
/// <see cref="Pdnn.Onnx.ChannelsLast"/> for the NaN gradients of the NCHW layout): grouped convolutions off by 0.3, an
/// untrained ResNet-18's logits off by 4.7e-3 against ONNX Runtime, the input gradient through a bfloat16 SR generator
/// zero. Capped at AVX2, every one of those checks passed. So on AMD CPUs that offer AVX-512, oneDNN is capped at AVX2
/// (DNNL_MAX_CPU_ISA=AVX2) before its first convolution. Float32 convolutions lose little there; bfloat16 ones lose their
/// fast kernels (train in float32 on such a CPU). Intel CPUs, whose AVX-512 and AMX kernels every earlier measurement
/// used, are left as they are. An explicit DNNL_MAX_CPU_ISA (or ONEDNN_MAX_CPU_ISA) is respected; PDNN_ONEDNN_ISA=native
/// lifts the cap.
/// </summary>
public static class CpuKernels
{
    public const string OverrideVariable = "PDNN_ONEDNN_ISA";
    static readonly object Gate = new();
    static bool _configured;

    /// <summary>What was decided, for the device line (null until <see cref="Configure"/> has run; "" when nothing was changed).</summary>
    public static string? Note { get; private set; }

    // A library's module initializer (CA2255) on purpose: the cap must be set before oneDNN's first convolution, and an
    // application that loads Pdnn.Torch cannot be relied on to call Configure first.
#pragma warning disable CA2255
    [ModuleInitializer]
    internal static void OnLoad() => Configure();
#pragma warning restore CA2255

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
        return $"oneDNN capped at AVX2: its AVX-512 convolutions gave wrong results on an AMD CPU ({OverrideVariable}=native to lift)";
    }

    [DllImport("libc", SetLastError = true)]
    static extern int setenv(string name, string value, int overwrite);
}
