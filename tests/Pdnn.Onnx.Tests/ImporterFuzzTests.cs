using CsCheck;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using Pdnn.Onnx.Import;
using Pdnn.Tests;
using static TorchSharp.torch;
using DenseTensor = Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>;

namespace Pdnn.Onnx.Tests;

/// <summary>
/// Fuzzing the ONNX importer that builds the white-box twin: random mutations of the shipped models, as bytes (flips,
/// boundary values, truncation, insertions) and as graphs (an operator swapped, an input renamed or dropped, an attribute
/// or a dimension set to a boundary value, a node's domain changed, raw data cut). The property: the importer refuses the
/// model with an error naming it (at load, or for a shape that does not fit, when run), or its twin computes what ONNX
/// Runtime computes from the same bytes — never another exception, a crash, a hang or a silently different function.
/// </summary>
[TestClass]
public sealed class ImporterFuzzTests
{
    const string Source = "fuzzed.onnx";
    static readonly string[] Models = ["sr-lite-cifar10/sr-generator.onnx", "resnet20-cifar10/classifier.onnx"];
    static readonly Lazy<byte[][]> originals = new(() => Models.Select(m => File.ReadAllBytes(Path.Combine(TestPaths.RepoRoot, "models", m))).ToArray());
    static readonly long[] Boundaries = [0, -1, 1, 2, 3, 7, 1L << 31, -(1L << 40), long.MaxValue];

    /// <summary>A graph-level edit, given random choices in [0, 1).</summary>
    sealed record GraphEdit(int Kind, double Where, double What, long Value)
    {
        public void Apply(ModelProto m)
        {
            var g = m.Graph;
            var node = g.Node[(int)(Where * g.Node.Count)];
            string[] ops = ["Conv", "Relu", "Add", "Gemm", "Resize", "Flatten", "Concat", "Identity", "MaxPool", "DepthToSpace", "Softmax"];
            switch (Kind)
            {
                case 0: node.OpType = ops[(int)(What * ops.Length)]; break;
                case 1: if (node.Input.Count > 0) node.Input[(int)(What * node.Input.Count)] = What < 0.5 ? "" : g.Node[^1].Output[0]; break;
                case 2: if (node.Input.Count > 0) node.Input.RemoveAt(node.Input.Count - 1); break;
                case 3:
                    if (node.Attribute.Count > 0)
                    {
                        var a = node.Attribute[(int)(What * node.Attribute.Count)];
                        if (a.Ints.Count > 0) a.Ints[(int)(What * 7919) % a.Ints.Count] = Value;
                        else if (a.Type == AttributeProto.Types.AttributeType.Float) a.F = Value;
                        else if (a.Type == AttributeProto.Types.AttributeType.String) a.S = ByteString.CopyFromUtf8(What < 0.5 ? "DCR" : "cubic");
                        else a.I = Value;
                    }
                    break;
                case 4: node.Domain = "com.example"; break;
                case 5:
                    var t = g.Initializer[(int)(What * g.Initializer.Count)];
                    if (t.Dims.Count > 0) t.Dims[(int)(What * 7919) % t.Dims.Count] = Value;
                    break;
                case 6:
                    var r = g.Initializer[(int)(What * g.Initializer.Count)];
                    if (r.RawData.Length > 0) r.RawData = ByteString.CopyFrom(r.RawData.Span[..(int)(What * r.RawData.Length)]);
                    break;
                case 7:
                    int i = (int)(Where * g.Node.Count), j = (int)(What * g.Node.Count);
                    (g.Node[i], g.Node[j]) = (g.Node[j], g.Node[i]);
                    break;
                default: node.Attribute.Add(new AttributeProto { Name = "auto_pad", Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8("SAME_UPPER") }); break;
            }
        }
    }

    static Gen<GraphEdit> Edit => Gen.Select(Gen.Int[0, 8], Gen.Double[0, 0.999], Gen.Double[0, 0.999], Gen.OneOf(Boundaries), (k, w, x, v) => new GraphEdit(k, w, x, v));

    /// <summary>The fuzzed bytes: graph edits (2 in 3) or byte mutations of one of the shipped models.</summary>
    static Gen<(int Model, GraphEdit[]? Edits, Fuzz.Mutation[]? Bytes)> Cases =>
        Gen.Select(Gen.Int[0, 1], Gen.Int[0, 2], Edit.Array[1, 2], Fuzz.Mutations(150_000, header: 2000),
                   (model, kind, edits, bytes) => (model, kind < 2 ? edits : null, kind < 2 ? null : bytes));

    static byte[] Build((int Model, GraphEdit[]? Edits, Fuzz.Mutation[]? Bytes) c)
    {
        var original = originals.Value[c.Model];
        if (c.Bytes != null) return Fuzz.Apply(original, c.Bytes);
        var model = ModelProto.Parser.ParseFrom(original);
        foreach (var e in c.Edits!) e.Apply(model);
        return model.ToByteArray();
    }

    static float[]? RunOnnxRuntime(byte[] bytes, float[] x, int n)
    {
        try
        {
            using var session = new InferenceSession(bytes);
            var input = new DenseTensor(x, [n, 3, 32, 32]);
            using var results = session.Run([NamedOnnxValue.CreateFromTensor(session.InputMetadata.Keys.First(), input)]);
            return results.First().AsTensor<float>().ToArray();
        }
        catch (OnnxRuntimeException) { return null; }
    }

    [TestMethod]
    public void TheTwinComputesWhatOnnxRuntimeDoesOrRefusesNamingTheModel()
    {
        using var images = Parity.RealImages()[TensorIndex.Slice(0, 2)].contiguous();
        var x = images.data<float>().ToArray();
        int accepted = 0;

        Cases.Sample(c =>
        {
            var bytes = Build(c);
            OnnxTorchGraph graph;
            try { graph = new OnnxTorchGraph(bytes, CPU, Source); }
            catch (Exception e) when (e is NotSupportedException or InvalidDataException)
            {
                StringAssert.Contains(e.Message, Source);
                return;
            }
            using (graph)
            {
                float[] twin;
                try
                {
                    using var noGrad = no_grad();
                    using var y = graph.Forward(images);
                    twin = y.contiguous().data<float>().ToArray();
                }
                catch (InvalidDataException e)
                {
                    StringAssert.Contains(e.Message, Source);
                    return;
                }
                accepted++;
                var reference = RunOnnxRuntime(bytes, x, 2);
                // ONNX Runtime refuses the model, or overflows (its fused Conv+BatchNormalization can turn a huge weight into
                // ∞ where the unfused graph stays finite): the deployed stage then refuses the output by name, nothing to compare.
                if (reference == null || !reference.All(float.IsFinite)) return;
                Assert.HasCount(reference.Length, twin, "output size");
                for (int i = 0; i < twin.Length; i++)
                    Assert.AreEqual(reference[i], twin[i], 1e-3 + 1e-3 * Math.Abs(reference[i]), $"value {i}: the twin computes another function than ONNX Runtime");
            }
        }, iter: Fuzz.Iterations(100), threads: 1, seed: Fuzz.Seed,
           print: c => $"model {Models[c.Model]}: {(c.Edits != null ? string.Join(", ", c.Edits.Select(e => e.ToString())) : string.Join(", ", c.Bytes!.Select(b => b.ToString())))}");
        Console.WriteLine($"{accepted} fuzzed models ran in the twin");
        Assert.IsGreaterThan(0, accepted, "no fuzzed model got as far as the twin: the mutations test only the parser");
    }
}
