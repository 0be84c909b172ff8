using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Pdnn.MLNet.Execution;

public enum ExecutionDevice { Auto, Cpu, Cuda }

/// <summary>
/// One ONNX Runtime session for a stage, created once and reused for every batch. CUDA (Microsoft.ML.OnnxRuntime.Gpu,
/// built for CUDA 13: libcudart/libcublas 13 and cuDNN 9 on the library path) when asked for or, with Auto, when it
/// loads; CPU otherwise. <see cref="Device"/> says which, and why.
/// </summary>
public sealed class OnnxModelSession : IDisposable
{
    readonly InferenceSession session;
    readonly string inputName;

    OnnxModelSession(InferenceSession session, string source, string device)
    {
        this.session = session;
        Source = source;
        Device = device;
        inputName = session.InputMetadata.Keys.First();
    }

    public string Source { get; }
    public string Device { get; }
    public IReadOnlyDictionary<string, string> Metadata => session.ModelMetadata.CustomMetadataMap;
    public string OutputName => session.OutputMetadata.Keys.First();

    /// <summary>
    /// Opens <paramref name="path"/>. Its input must be N x C x H x W with H, W those of <paramref name="shape"/> and C one of
    /// <paramref name="inputChannels"/> (default: the shape's channels). A missing or corrupt file, or another input shape,
    /// fails naming the file and both shapes.
    /// </summary>
    public static OnnxModelSession Open(string path, ImageShape shape, ExecutionDevice device = ExecutionDevice.Auto, params int[] inputChannels)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"ONNX model '{path}' not found.", path);
        if (inputChannels.Length == 0) inputChannels = [shape.Channels];
        var (session, description) = Create(path, device);
        var result = new OnnxModelSession(session, path, description);
        var dims = session.InputMetadata[result.inputName].Dimensions;
        if (dims.Length != 4 || !inputChannels.Contains(dims[1]) || dims[2] != shape.Height || dims[3] != shape.Width)
        {
            result.Dispose();
            throw new InvalidDataException($"ONNX model '{path}': input '{result.inputName}' has shape [{string.Join(", ", dims)}], but the column holds {shape} images (expected [N, {string.Join(" or ", inputChannels)}, {shape.Height}, {shape.Width}]).");
        }
        result.InputChannels = dims[1];
        return result;
    }

    /// <summary>The channels the model takes (for the inpainter: 4 with the mask, or 3 without).</summary>
    public int InputChannels { get; private set; }

    static (InferenceSession, string) Create(string path, ExecutionDevice device)
    {
        EnsureNativeRuntime();
        string? cudaProblem = null;
        if (device != ExecutionDevice.Cpu)
        {
            try
            {
                using var cudaOptions = SessionOptions.MakeSessionOptionWithCudaProvider(0);
                return (new InferenceSession(path, cudaOptions), "ONNX Runtime CUDA execution provider, device 0");
            }
            catch (Exception e) when (e is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException)
            {
                if (device == ExecutionDevice.Cuda)
                    throw new InvalidOperationException($"CUDA execution provider unavailable for '{path}': {e.Message}", e);
                cudaProblem = e.Message.Split('\n')[0];
            }
        }
        try
        {
            var session = new InferenceSession(path);
            return (session, device == ExecutionDevice.Cpu ? "ONNX Runtime CPU (requested)" : $"ONNX Runtime CPU (no CUDA provider: {cudaProblem})");
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidDataException($"ONNX model '{path}' cannot be loaded: {e.Message}", e);
        }
    }

    /// <summary>
    /// The Pdnn packages reference ONNX Runtime's managed API only (as ML.NET's OnnxTransformer does); without a native
    /// package in the application, say which to add rather than fail in a type initialiser.
    /// </summary>
    static void EnsureNativeRuntime()
    {
        try { _ = OrtEnv.Instance(); }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException)
        {
            throw new InvalidOperationException("ONNX Runtime's native library is not in this application: add the package Microsoft.ML.OnnxRuntime " +
                "(CPU) or Microsoft.ML.OnnxRuntime.Gpu.Linux (CUDA); the Pdnn packages reference ONNX Runtime's managed API only.", e);
        }
    }

    /// <summary>Runs the first output for <paramref name="count"/> inputs of <paramref name="shape"/>; returns count x (output size) floats.</summary>
    public float[] Run(float[] inputs, int count, ImageShape shape)
    {
        var input = new DenseTensor<float>(inputs.AsMemory(0, count * shape.Size), [count, shape.Channels, shape.Height, shape.Width]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(inputName, input)]);
        var output = results.First().AsTensor<float>().ToArray();
        // NaN or ∞ out of a model (overflowing weights, a broken file) would flow on as pixels or scores: stop here, naming it.
        if (output.AsSpan().IndexOfAnyExceptInRange(float.MinValue, float.MaxValue) is var bad and >= 0)
            throw new InvalidDataException($"ONNX model '{Source}' gave {output[bad]} (output value {bad} of a batch of {count}); its outputs must be finite.");
        return output;
    }

    public void Dispose() => session.Dispose();
}
