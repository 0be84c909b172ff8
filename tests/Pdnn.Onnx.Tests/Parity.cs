using Microsoft.ML.OnnxRuntime;
using DenseTensor = Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>;
using Tensor = TorchSharp.torch.Tensor;
using Pdnn.Data;
using Pdnn.Onnx;
using Pdnn.Tests;
using Pdnn.Torch.Training;
using static TorchSharp.torch;

namespace Pdnn.Onnx.Tests;

/// <summary>Exports a module, runs the ONNX file in ONNX Runtime and TorchSharp on the same real images, and compares.</summary>
static class Parity
{
    static readonly Lazy<ImageDataset> images = new(() => DatasetLoader.Load(TestPaths.Sample, Split.Test, new() { UseCache = false }).Sample(8, seed: 11));

    /// <summary>8 real CIFAR-10 test images, 8 x 3 x 32 x 32 in [0,1].</summary>
    public static Tensor RealImages()
    {
        using var d = new DeviceImages(images.Value, CPU);
        return d.Range(0, 8).Images;
    }

    /// <summary>Max |ONNX Runtime − TorchSharp| over the output on <paramref name="x"/>.</summary>
    public static double MaxAbsDifference(nn.Module<Tensor, Tensor> module, Tensor x)
    {
        module.eval();
        var model = OnnxExporter.Export(module, x.shape[1..]);
        using var session = new InferenceSession(Google.Protobuf.MessageExtensions.ToByteArray(model));
        var input = new DenseTensor(x.contiguous().data<float>().ToArray(), x.shape.Select(d => (int)d).ToArray());
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(OnnxExporter.InputName, input)]);
        var onnx = results.First().AsTensor<float>();

        using var noGrad = no_grad();
        using var expected = module.forward(x).contiguous();
        CollectionAssert.AreEqual(expected.shape, onnx.Dimensions.ToArray().Select(d => (long)d).ToArray(), "output shape");
        var torchValues = expected.data<float>().ToArray();
        var onnxValues = onnx.ToArray();
        double max = 0;
        for (int i = 0; i < torchValues.Length; i++) max = Math.Max(max, Math.Abs(torchValues[i] - onnxValues[i]));
        return max;
    }
}
