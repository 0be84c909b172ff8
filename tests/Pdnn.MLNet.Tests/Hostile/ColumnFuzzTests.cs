using CsCheck;
using Microsoft.ML;
using Microsoft.ML.Data;
using Pdnn.MLNet.Execution;
using Pdnn.Tests;

namespace Pdnn.MLNet.Tests.Hostile;

/// <summary>
/// The image columns fed to every stage, fuzzed: real images, some with pixels set to NaN, ±∞, values just or far outside
/// [0,1], or of the wrong length, in batches of random size. The property: valid rows give valid outputs (images finite
/// in [0,1]; scores finite, summing to 1, the label their argmax), and the first bad row stops the run with an error
/// naming the column and that row — never a crash or a silently wrong output.
/// </summary>
[TestClass]
public sealed class ColumnFuzzTests
{
    sealed class Row
    {
        [VectorType(3072)] public float[] Image { get; set; } = [];
    }

    static readonly float[] BadValues = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, -1e-6f, 1.000001f, -3f, 7f, float.MaxValue, float.MinValue];

    static readonly Lazy<float[][]> images = new(() => RealImages.Images(RealImages.Load(new MLContext(seed: 0))));

    /// <summary>Each stage as an estimator over column "Image" (the shipped models for the model stages).</summary>
    static IEstimator<ITransformer> Stage(MLContext ml, int which, int batchSize)
    {
        string Model(string folder, string file) => Path.Combine(TestPaths.RepoRoot, "models", folder, file);
        return which switch
        {
            0 => ml.Transforms.NoisyCorrupt("Image", ShippedModels.NsrNoise, seed: 3, batchSize: batchSize),
            1 => ml.Transforms.FeatureSqueeze("Image", bits: 3, medianWindow: 2, batchSize: batchSize),
            2 => ml.Transforms.SpatialSmoothing("Image", window: 3, batchSize: batchSize),
            3 => ml.Transforms.JpegCompression("Image", quality: 50, batchSize: batchSize),
            4 => ml.Transforms.SuperResolve("Image", Model("sr-lite-cifar10", "sr-generator.onnx"), batchSize: batchSize, device: ExecutionDevice.Cpu),
            5 => ml.Transforms.MaskedInpaintAggregate("Image", Model("inpainter-lite-g4-cifar10", "inpainter.onnx"), gridCell: 4, redrawPerImage: true, batchSize: batchSize, device: ExecutionDevice.Cpu),
            _ => ml.Transforms.RobustClassify(Model("resnet20-cifar10", "classifier.onnx"), batchSize: batchSize, device: ExecutionDevice.Cpu),
        };
    }

    /// <summary>A row: a real image, possibly damaged (count of bad pixels, which bad value) or cut to another length.</summary>
    sealed record Damage(int Image, int BadPixels, int Value, int Length)
    {
        public float[] Make()
        {
            var image = (float[])images.Value[Image % images.Value.Length].Clone();
            var random = new Random(Image * 31 + BadPixels);
            for (int i = 0; i < BadPixels; i++) image[random.Next(image.Length)] = BadValues[Value];
            return Length == 3072 ? image : image.Take(Length).Concat(new float[Math.Max(0, Length - 3072)]).ToArray();
        }
        public bool Valid => BadPixels == 0 && Length == 3072;
    }

    static Gen<Damage> Rows => Gen.Select(Gen.Int[0, 19], Gen.Frequency((3, Gen.Const(0)), (1, Gen.Int[1, 3])), Gen.Int[0, BadValues.Length - 1],
                                          Gen.Frequency((12, Gen.Const(3072)), (1, Gen.OneOf(0, 1, 3071, 3073, 1024))),
                                          (i, bad, v, length) => new Damage(i, bad, v, length));

    [TestMethod]
    public void EveryStageGivesValidOutputsOrNamesTheColumnAndTheBadRow()
    {
        var ml = new MLContext(seed: 0);
        var fitData = ml.Data.LoadFromEnumerable(new[] { new Row { Image = images.Value[0] } });
        var stages = new Dictionary<(int, int), ITransformer>();
        ITransformer Fitted(int which, int batch) =>
            stages.TryGetValue((which, batch), out var t) ? t : stages[(which, batch)] = Stage(ml, which, batch).Fit(fitData);

        Gen.Select(Gen.Int[0, 6], Gen.Int[1, 4], Rows.Array[1, 6]).Sample((which, batch, rows) =>
        {
            var data = ml.Data.LoadFromEnumerable(rows.Select(r => new Row { Image = r.Make() }));
            var output = Fitted(which, batch).Transform(data);
            int firstBad = Array.FindIndex(rows, r => !r.Valid);
            var outputs = new List<(VBuffer<float> Values, uint Label)>();
            try
            {
                var column = output.Schema[which == 6 ? "Score" : "Image"];
                using var cursor = output.GetRowCursor(output.Schema);
                var values = cursor.GetGetter<VBuffer<float>>(column);
                var label = which == 6 ? cursor.GetGetter<uint>(output.Schema["PredictedLabel"]) : null;
                while (cursor.MoveNext())
                {
                    VBuffer<float> v = default;
                    uint l = 0;
                    values(ref v);
                    label?.Invoke(ref l);
                    outputs.Add((v, l));
                }
            }
            catch (Exception e) when (firstBad >= 0)
            {
                // ML.NET's own column check (a vector of another length than its type says) or ours; either names the column.
                StringAssert.Contains(e.ToString(), "Image", e.ToString());
                if (rows[firstBad].Length == 3072) StringAssert.Contains(e.Message, $"Column 'Image', row {firstBad}:");
                return;
            }
            Assert.AreEqual(-1, firstBad, $"row {firstBad} ({rows[Math.Max(0, firstBad)]}) passed unchecked");
            Assert.HasCount(rows.Length, outputs);
            foreach (var (v, l) in outputs)
            {
                var x = v.DenseValues().ToArray();
                Assert.IsTrue(x.All(float.IsFinite), "non-finite output");
                if (which != 6)
                {
                    Assert.HasCount(3072, x);
                    Assert.IsTrue(x.All(p => p is >= 0 and <= 1), $"stage {which}: output outside [0,1]: {x.Min()}..{x.Max()}");
                }
                else
                {
                    Assert.AreEqual(1.0, x.Sum(), 1e-4);
                    Assert.AreEqual((uint)Array.IndexOf(x, x.Max()) + 1, l, "label is not the argmax of the scores");
                }
            }
        }, iter: Fuzz.Iterations(150), threads: 1, seed: Fuzz.Seed, print: t => $"stage {t.Item1}, batch {t.Item2}: {string.Join("; ", t.Item3.Select(r => r.ToString()))}");
    }
}

[TestClass]
public sealed class ModelOutputTests
{
    [TestMethod]
    public void AClassifierGivingNonFiniteScoresIsNamedNotReadAsTheFirstClass()
    {
        // The shipped ResNet-20 with its last layer's weights at 3e38: every logit overflows to ∞. Before, a NaN score lost
        // every comparison and PredictedLabel silently became the first class.
        var model = global::Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(TestPaths.RepoRoot, "models", "resnet20-cifar10", "classifier.onnx")));
        var gemm = model.Graph.Node.Last(n => n.OpType == "Gemm");
        var weight = model.Graph.Initializer.Single(t => t.Name == gemm.Input[1]);
        weight.RawData = Google.Protobuf.ByteString.CopyFrom(Enumerable.Repeat(3e38f, weight.RawData.Length / 4).SelectMany(BitConverter.GetBytes).ToArray());
        var path = Path.Combine(TestPaths.NewTempDir(), "overflowing.onnx");
        File.WriteAllBytes(path, Google.Protobuf.MessageExtensions.ToByteArray(model));

        var ml = new MLContext(seed: 0);
        var data = RealImages.Load(ml);
        var scored = ml.Transforms.RobustClassify(path, device: ExecutionDevice.Cpu).Fit(data).Transform(data);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => scored.GetColumn<uint>("PredictedLabel").ToArray());
        StringAssert.Contains(e.Message, path);
        StringAssert.Contains(e.Message, "must be finite");
    }
}
