using Pdnn.Data;
using Microsoft.ML;
using Pdnn.MLNet.Execution;
using Pdnn.MLNet.Transforms;
using Pdnn.Onnx;
using Pdnn.Tests;
using Pdnn.Torch.Models.Recreation;
using static TorchSharp.torch;

namespace Pdnn.MLNet.Tests;

/// <summary>
/// The recreation stages against a direct TorchSharp computation on real images. The generator and inpainter here are
/// untrained stand-ins (random weights, fixed seed): what is tested is that the stage computes C(μ(p(δ(x)))) as
/// specified, not the quality of the recreation.
/// </summary>
[TestClass]
public sealed class RecreationTests
{
    static (string Path, T Model) Export<T>(T model) where T : nn.Module<Tensor, Tensor>
    {
        model.eval();
        var path = Path.Combine(TestPaths.NewTempDir(), typeof(T).Name + ".onnx");
        OnnxExporter.Save(OnnxExporter.Export(model, [model is Inpainter ? 4 : 3, 32, 32]), path);
        return (path, model);
    }

    static Tensor AsTensor(float[][] images) => tensor(images.SelectMany(v => v).ToArray(), [images.Length, 3, 32, 32]);

    [TestMethod]
    public void ManagedBilinearResizeEqualsTorchSharpInterpolate()
    {
        var x = rand([2, 3, 32, 32]);
        foreach (var (h, w) in new[] { (128, 128), (16, 16), (20, 40) })
        {
            var expected = nn.functional.interpolate(x, [h, w], mode: InterpolationMode.Bilinear, align_corners: false).data<float>().ToArray();
            var actual = new float[2 * 3 * h * w];
            var source = x.data<float>().ToArray();
            for (int i = 0; i < 2; i++)
                Bilinear.Resize(source.AsSpan(i * 3072, 3072), 3, 32, 32, actual.AsSpan(i * 3 * h * w, 3 * h * w), h, w);
            for (int j = 0; j < actual.Length; j++) Assert.AreEqual(expected[j], actual[j], 1e-5, $"{h}x{w} value {j}");
        }
    }

    [TestMethod]
    public void SuperResolveEqualsGeneratorThenBilinearResizeBack()
    {
        manual_seed(7);
        var (onnx, generator) = Export(new SrGenerator(SrGeneratorSpec.Lite));
        var ml = new MLContext(seed: 0);
        var data = RealImages.Load(ml);

        var recreated = RealImages.Images(ml.Transforms.SuperResolve("Recreated", onnx, "Image", batchSize: 6).Fit(data).Transform(data), "Recreated");

        using var noGrad = no_grad();
        var high = generator.forward(AsTensor(RealImages.Images(data)));
        CollectionAssert.AreEqual(new long[] { 20, 3, 128, 128 }, high.shape, "the generator upscales 32 → 128");
        var expected = Recreations.SuperResolve(generator, AsTensor(RealImages.Images(data))).data<float>().ToArray();
        var actual = recreated.SelectMany(v => v).ToArray();
        Assert.HasCount(expected.Length, actual);
        for (int j = 0; j < actual.Length; j++) Assert.AreEqual(expected[j], actual[j], 1e-4, $"value {j}");
        Assert.IsTrue(actual.All(v => v is >= 0f and <= 1f), "the sigmoid keeps recreations in [0,1]");
    }

    [TestMethod]
    [DataRow(1)]
    [DataRow(4)]
    [DataRow(8)]
    public void MasksPartitionTheImageIntoTenRoughlyEqualParts(int cell)
    {
        var masks = MaskSet.Draw(10, cell, 32, 32, new Random(cell));
        var counts = new int[10];
        for (int p = 0; p < 1024; p++)
        {
            var owners = Enumerable.Range(0, 10).Where(k => masks.Covers(k, p)).ToArray();
            Assert.HasCount(1, owners, $"pixel {p} must be covered by exactly one mask");
            counts[owners[0]]++;
        }
        // 1024/cell² cells dealt round-robin into 10 groups: each mask holds ⌊n/10⌋ or ⌈n/10⌉ cells of cell² pixels.
        int cells = 1024 / (cell * cell);
        foreach (var c in counts)
            Assert.IsTrue(c == cells / 10 * cell * cell || c == (cells + 9) / 10 * cell * cell, $"cell {cell}: a mask covers {c} pixels");
    }

    [TestMethod]
    public void MaskedInpaintAggregateEqualsTheSumOfMaskedPredictions()
    {
        manual_seed(8);
        var (onnx, inpainter) = Export(new Inpainter(InpainterSpec.Lite));
        var ml = new MLContext(seed: 0);
        var data = RealImages.Load(ml);
        var transformer = ml.Transforms.MaskedInpaintAggregate("Recreated", onnx, "Image", maskCount: 10, gridCell: 4, seed: 9, batchSize: 8).Fit(data);

        var actual = RealImages.Images(transformer.Transform(data), "Recreated").SelectMany(v => v).ToArray();

        // The TorchSharp twin of the stage, Σ_k M_k ⊙ F([x ⊙ (1 − M_k), M_k]), with the transformer's masks.
        var x = AsTensor(RealImages.Images(data));
        using var noGrad = no_grad();
        var expected = Recreations.InpaintAggregate(inpainter, x, Recreations.MaskTensor(transformer.Masks, CPU)).data<float>().ToArray();
        for (int j = 0; j < actual.Length; j++) Assert.AreEqual(expected[j], actual[j], 1e-4, $"value {j}");
    }

    [TestMethod]
    public void FixedMasksRepeatAndRedrawnMasksChangeButAreSeeded()
    {
        manual_seed(9);
        var (onnx, _) = Export(new Inpainter(InpainterSpec.Lite));
        var ml = new MLContext(seed: 0);
        var data = RealImages.Load(ml);
        float[] Run(ITransformer t) => RealImages.Images(t.Transform(data), "Recreated").SelectMany(v => v).ToArray();

        var fixedMasks = ml.Transforms.MaskedInpaintAggregate("Recreated", onnx, "Image", gridCell: 1, seed: 1).Fit(data);
        CollectionAssert.AreEqual(Run(fixedMasks), Run(fixedMasks));

        var redrawn = ml.Transforms.MaskedInpaintAggregate("Recreated", onnx, "Image", gridCell: 1, seed: 1, redrawPerImage: true).Fit(data);
        var again = ml.Transforms.MaskedInpaintAggregate("Recreated", onnx, "Image", gridCell: 1, seed: 1, redrawPerImage: true).Fit(data);
        var first = Run(redrawn);
        CollectionAssert.AreNotEqual(first, Run(redrawn), "redrawn masks differ from call to call");
        CollectionAssert.AreEqual(first, Run(again), "the same seed draws the same masks");

        var perImage = ml.Transforms.MaskedInpaintAggregate("Recreated", onnx, "Image", gridCell: 1, seed: 1, redrawPerImage: true,
            randomness: Pdnn.MLNet.Execution.RandomnessKey.PerImage, batchSize: 7).Fit(data);
        var keyed = Run(perImage);
        CollectionAssert.AreEqual(keyed, Run(perImage), "masks keyed by the image repeat from call to call");
        CollectionAssert.AreNotEqual(first, keyed, "and differ from the per-call draws");
    }

    [TestMethod]
    public void TooFewCellsForTheMasksIsRefused()
    {
        var ml = new MLContext(seed: 0);
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Transforms.MaskedInpaintAggregate("R", "x.onnx", gridCell: 16, maskCount: 10));
        StringAssert.Contains(e.Message, "10 masks need at least 10 cells");
    }
}
