using System.Runtime.InteropServices;
using TorchSharp;

namespace Pdnn.Torch.Devices;

/// <summary>Where a computation runs, and a sentence saying why (printed by every command).</summary>
public sealed record DeviceChoice(torch.Device Device, string Description)
{
    public bool IsCuda => Device.type == DeviceType.CUDA;
}

/// <summary>
/// Chooses the torch device from "auto", "cpu" or "cuda[:N]". CUDA needs a CUDA libtorch: the TorchSharp-cuda-linux
/// package (build with -p:TorchBackend=cuda), or an existing PyTorch install's torch/lib folder, named by
/// PDNN_LIBTORCH_DIR or put on LD_LIBRARY_PATH before the process starts (the GPU bundle's launcher does this).
/// </summary>
public static class TorchDevice
{
    public const string LibTorchDirVariable = "PDNN_LIBTORCH_DIR";
    static readonly object Gate = new();
    static string? _cudaProblem;
    static bool _cudaTried, _cudaReady;

    public static DeviceChoice Resolve(string spec = "auto")
    {
        spec = (spec ?? "auto").Trim().ToLowerInvariant();
        if (spec == "cpu") return Cpu("requested with --device cpu");
        if (spec == "auto")
            return TryCuda() ? Cuda(0, "auto: a CUDA device is present") : Cpu($"auto: no CUDA ({_cudaProblem})");
        if (spec == "cuda" || spec.StartsWith("cuda:"))
        {
            int index = spec == "cuda" ? 0 : int.TryParse(spec[5..], out var i) && i >= 0 ? i
                : throw new ArgumentException($"--device '{spec}': expected cuda or cuda:N with N a device index.");
            if (!TryCuda())
                throw new InvalidOperationException($"--device {spec}: CUDA is not usable here: {_cudaProblem}. Use --device cpu or auto, or see README 'Running on a GPU'.");
            int count = torch.cuda.device_count();
            if (index >= count) throw new ArgumentException($"--device {spec}: only {count} CUDA device(s) present.");
            return Cuda(index, "requested with --device");
        }
        throw new ArgumentException($"--device '{spec}': expected auto, cpu, cuda or cuda:N.");
    }

    static DeviceChoice Cpu(string why)
    {
        EnsureCpuBackend();
        CpuKernels.Configure();
        return new DeviceChoice(torch.CPU, $"cpu ({why}; {Environment.ProcessorCount} logical cores, {torch.get_num_threads()} torch threads" +
                                           (CpuKernels.Note is { Length: > 0 } note ? $"; {note}" : "") + ")");
    }

    static DeviceChoice Cuda(int index, string why) =>
        new(torch.device(DeviceType.CUDA, index), $"cuda:{index} ({why}; {torch.cuda.device_count()} device(s))");

    static void EnsureCpuBackend() => torch.InitializeDeviceType(DeviceType.CPU);

    /// <summary>Loads the CUDA backend once; on failure remembers why, and the CPU backend still works.</summary>
    static bool TryCuda()
    {
        lock (Gate)
        {
            if (_cudaTried) return _cudaReady;
            _cudaTried = true;
            var dir = Environment.GetEnvironmentVariable(LibTorchDirVariable);
            if (!string.IsNullOrEmpty(dir) && !PreloadLibTorch(dir)) return false;
            if (string.IsNullOrEmpty(dir) && !CudaLibTorchVisible())
            {
                _cudaProblem = $"no CUDA libtorch found (set {LibTorchDirVariable} to PyTorch's torch/lib, or build with -p:TorchBackend=cuda)";
                return false;
            }
            try
            {
                _cudaReady = torch.TryInitializeDeviceType(DeviceType.CUDA) && torch.cuda.is_available();
                if (!_cudaReady) _cudaProblem = "libtorch loaded but reports no CUDA device";
            }
            catch (Exception e)
            {
                _cudaProblem = $"CUDA backend failed to load: {e.Message}";
            }
            return _cudaReady;
        }
    }

    /// <summary>
    /// Loads PyTorch's libraries by full path, dependencies first, so that LibTorchSharp's references to libtorch.so
    /// resolve to them (the dynamic loader matches already loaded libraries by soname).
    /// </summary>
    static bool PreloadLibTorch(string dir)
    {
        string[] order = ["libc10.so", "libc10_cuda.so", "libtorch_cpu.so", "libtorch_cuda.so", "libtorch.so"];
        foreach (var name in order)
        {
            var path = Path.Combine(dir, name);
            if (!File.Exists(path))
            {
                _cudaProblem = $"{LibTorchDirVariable}={dir} has no {name} (expected PyTorch's torch/lib folder of a CUDA build)";
                return false;
            }
            if (!NativeLibrary.TryLoad(path, out _))
            {
                _cudaProblem = $"could not load {path} (are its CUDA libraries on LD_LIBRARY_PATH?)";
                return false;
            }
        }
        return true;
    }

    /// <summary>Whether a CUDA libtorch could be found by name: beside the app (CUDA package) or on LD_LIBRARY_PATH.</summary>
    static bool CudaLibTorchVisible()
    {
        var dirs = new List<string> { AppContext.BaseDirectory };
        dirs.AddRange((Environment.GetEnvironmentVariable("LD_LIBRARY_PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries));
        return dirs.Any(d => File.Exists(Path.Combine(d, "libtorch_cuda.so")) ||
                             File.Exists(Path.Combine(d, "runtimes", "linux-x64", "native", "libtorch_cuda.so")));
    }
}
