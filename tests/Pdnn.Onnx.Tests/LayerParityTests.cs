using Pdnn.Onnx;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Pdnn.Onnx.Tests;

[TestClass]
public sealed class LayerParityTests
{
    const double Tolerance = 1e-4;

    /// <summary>A 1x1 conv first, so activations see negative values too.</summary>
    static Module<Tensor, Tensor> AfterConv(params Module<Tensor, Tensor>[] layers) =>
        Sequential([Conv2d(3, 3, 1), .. layers]);

    static BatchNorm2d TrainedBatchNorm(long channels)
    {
        var bn = BatchNorm2d(channels);
        // Non-trivial running statistics and affine parameters, as after training.
        using (no_grad())
        {
            bn.running_mean!.copy_(rand(channels) - 0.5);
            bn.running_var!.copy_(rand(channels) + 0.5);
            bn.weight!.copy_(rand(channels) + 0.5);
            bn.bias!.copy_(rand(channels) - 0.5);
        }
        return bn;
    }

    public static IEnumerable<object[]> Layers()
    {
        manual_seed(0);
        yield return ["Conv2d stride 2 pad 1 bias", Conv2d(3, 8, 3, stride: 2, padding: 1)];
        yield return ["Conv2d grouped no bias", Conv2d(3, 6, 3, padding: 1, groups: 3, bias: false)];
        yield return ["Conv2d dilated", Conv2d(3, 4, 3, padding: 2, dilation: 2)];
        yield return ["ConvTranspose2d stride 2", ConvTranspose2d(3, 4, 4, stride: 2, padding: 1)];
        yield return ["ConvTranspose2d output padding", ConvTranspose2d(3, 2, 3, stride: 2, padding: 1, output_padding: 1)];
        yield return ["BatchNorm2d eval", Sequential(Conv2d(3, 5, 3), TrainedBatchNorm(5))];
        yield return ["Linear after pool and flatten", Sequential(AdaptiveAvgPool2d(1), Flatten(), Linear(3, 5))];
        yield return ["ReLU", AfterConv(ReLU())];
        yield return ["LeakyReLU", AfterConv(LeakyReLU(0.2))];
        yield return ["PReLU per channel", AfterConv(PReLU(3, 0.3))];
        yield return ["PReLU shared", AfterConv(PReLU(1, 0.1))];
        yield return ["Sigmoid", AfterConv(Sigmoid())];
        yield return ["Tanh", AfterConv(Tanh())];
        yield return ["MaxPool2d 3/2/1", MaxPool2d(3, stride: 2, padding: 1)];
        yield return ["AvgPool2d 2", AvgPool2d(2)];
        yield return ["AvgPool2d excluding pad", AvgPool2d(3, stride: 2, padding: 1, count_include_pad: false)];
        yield return ["PixelShuffle x2 (DepthToSpace CRD)", Sequential(Conv2d(3, 12, 3, padding: 1), PixelShuffle(2))];
        yield return ["Upsample bilinear x4", Upsample(scale_factor: [4.0, 4.0], mode: UpsampleMode.Bilinear)];
        yield return ["Upsample bilinear x4 align corners", Upsample(scale_factor: [4.0, 4.0], mode: UpsampleMode.Bilinear, align_corners: true)];
        yield return ["Upsample nearest x2", Upsample(scale_factor: [2.0, 2.0], mode: UpsampleMode.Nearest)];
        yield return ["Resize 32→128→32 bilinear", Sequential(Upsample(size: [128, 128], mode: UpsampleMode.Bilinear), Upsample(size: [32, 32], mode: UpsampleMode.Bilinear))];
        yield return ["Resize to 20x24 nearest", Upsample(size: [20, 24], mode: UpsampleMode.Nearest)];
        yield return ["Concat and residual add (custom module)", new ConcatAdd()];
    }

    [TestMethod]
    [DynamicData(nameof(Layers))]
    public void LayerMatchesOnnxRuntime(string name, Module<Tensor, Tensor> layer)
    {
        var difference = Parity.MaxAbsDifference(layer, Parity.RealImages());
        Assert.IsLessThanOrEqualTo(Tolerance, difference, $"{name}: max abs difference {difference:E2}");
    }

    /// <summary>The exported graph run back as TorchSharp operations (the white-box twin's route) gives the module's output.</summary>
    [TestMethod]
    [DynamicData(nameof(Layers))]
    public void OnnxGraphRunByTorchSharpMatchesTheModule(string name, Module<Tensor, Tensor> layer)
    {
        layer.eval();
        var x = Parity.RealImages();
        var bytes = Google.Protobuf.MessageExtensions.ToByteArray(OnnxExporter.Export(layer, x.shape[1..]));
        using var graph = new Import.OnnxTorchGraph(bytes, CPU, name);
        using var noGrad = no_grad();
        var difference = (graph.Forward(x) - layer.forward(x)).abs().max().item<float>();
        Assert.IsLessThanOrEqualTo(Tolerance, difference, $"{name}: max abs difference {difference:E2}");
    }

    [TestMethod]
    public void MultiplyAccumulatesAreCountedPerLayer()
    {
        // Conv 3→8, 3x3, pad 1 on 32x32: 8·32·32 outputs x 27 MACs; then pool, flatten, Linear 8→10: 80 MACs.
        var model = Sequential(Conv2d(3, 8, 3, padding: 1), AdaptiveAvgPool2d(1), Flatten(), Linear(8, 10));
        var bytes = Google.Protobuf.MessageExtensions.ToByteArray(OnnxExporter.Export(model, [3, 32, 32]));
        using var graph = new Import.OnnxTorchGraph(bytes, CPU);
        Assert.AreEqual(8L * 32 * 32 * 27 + 80, graph.MultiplyAccumulates(3, 32, 32));
        // Transposed conv 3→4, 4x4, stride 2 on 32x32: every input value meets 4·4·4 weights.
        var up = ConvTranspose2d(3, 4, 4, stride: 2, padding: 1);
        using var upGraph = new Import.OnnxTorchGraph(Google.Protobuf.MessageExtensions.ToByteArray(OnnxExporter.Export(up, [3, 32, 32])), CPU);
        Assert.AreEqual(3L * 32 * 32 * 64, upGraph.MultiplyAccumulates(3, 32, 32));
    }

    [TestMethod]
    public void UnsupportedLayerIsNamed()
    {
        var e = Assert.ThrowsExactly<NotSupportedException>(() => OnnxExporter.Export(Sequential(Dropout2d()), [3, 32, 32]));
        StringAssert.Contains(e.Message, "Dropout2d");
    }

    /// <summary>cat([conv(x), x]) + x repeated to 6 channels: exercises Concat, Add and a module that exports itself.</summary>
    sealed class ConcatAdd : Module<Tensor, Tensor>, IOnnxExportable
    {
        readonly Conv2d conv = Conv2d(3, 3, 3, padding: 1);

        public ConcatAdd() : base(nameof(ConcatAdd)) => RegisterComponents();

        public override Tensor forward(Tensor x) => cat([conv.forward(x), x], 1) + cat([x, x], 1);

        public string ExportOnnx(OnnxGraphBuilder g, string x) => g.Add(g.Concat(1, g.Module(conv, x), x), g.Concat(1, x, x));
    }
}
