using Pdnn.Torch.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Pdnn.Torch.Tests;

/// <summary>GcSafe's BatchNorm2d, LeakyReLU, SGD and Adam are TorchSharp's, numbers and files included.</summary>
[TestClass]
public sealed class GcSafeTests
{
    [TestMethod]
    public void BatchNormHasTheStateDictOfTorchSharps()
    {
        using var ours = new GcSafe.BatchNorm2d(5);
        using var theirs = nn.BatchNorm2d(5);
        var expected = theirs.state_dict().Select(p => $"{p.Key} {p.Value.dtype} [{string.Join(",", p.Value.shape)}]");
        var actual = ours.state_dict().Select(p => $"{p.Key} {p.Value.dtype} [{string.Join(",", p.Value.shape)}]");
        CollectionAssert.AreEqual(expected.ToList(), actual.ToList());
    }

    [TestMethod]
    public void BatchNormTrainsAndEvaluatesExactlyAsTorchSharps()
    {
        manual_seed(0);
        using var theirs = nn.BatchNorm2d(4);
        using (no_grad())
        {
            theirs.weight!.copy_(rand(4) + 0.5);
            theirs.bias!.copy_(rand(4) - 0.5);
        }
        using var ours = new GcSafe.BatchNorm2d(4);
        ours.load_state_dict(theirs.state_dict());
        var sgdTheirs = optim.SGD(theirs.parameters(), 0.1);
        var sgdOurs = optim.SGD(ours.parameters(), 0.1);

        for (int step = 0; step < 3; step++)
        {
            var x = randn(8, 4, 5, 5) * 2 + 1;
            var target = randn(8, 4, 5, 5);
            foreach (var (module, sgd) in new[] { ((nn.Module<Tensor, Tensor>)theirs, sgdTheirs), (ours, sgdOurs) })
            {
                sgd.zero_grad();
                nn.functional.mse_loss(module.forward(x), target).backward();
                sgd.step();
            }
        }
        var theirState = theirs.state_dict();
        foreach (var (name, value) in ours.state_dict())
            Assert.IsTrue(value.allclose(theirState[name], rtol: 0, atol: 0), $"{name} differs after three training steps");
        Assert.AreEqual(3L, ours.num_batches_tracked!.item<long>());

        theirs.eval(); ours.eval();
        var probe = randn(2, 4, 5, 5);
        Assert.IsTrue(ours.forward(probe).allclose(theirs.forward(probe), rtol: 0, atol: 0), "evaluation outputs differ");
        Assert.AreEqual(3L, ours.num_batches_tracked!.item<long>(), "evaluation counted a batch");
    }

    [TestMethod]
    public void LeakyReluComputesAndExportsAsTorchSharps()
    {
        manual_seed(0);
        var x = randn(4, 3, 6, 6).requires_grad_(true);
        using var ours = new GcSafe.LeakyReLU(0.2);
        using var theirs = nn.LeakyReLU(0.2);
        var (a, b) = (ours.forward(x), theirs.forward(x));
        Assert.IsTrue(a.allclose(b, rtol: 0, atol: 0), "forward differs");
        var gradOurs = autograd.grad([a.sum()], [x])[0];
        var gradTheirs = autograd.grad([b.sum()], [x])[0];
        Assert.IsTrue(gradOurs.allclose(gradTheirs, rtol: 0, atol: 0), "gradient differs");

        // Exported like TorchSharp's (ONNX LeakyRelu, alpha 0.2), and the graph run back gives the same numbers.
        var ourGraph = Pdnn.Onnx.OnnxExporter.Export(nn.Sequential(ours), [3, 6, 6]);
        var theirGraph = Pdnn.Onnx.OnnxExporter.Export(nn.Sequential(theirs), [3, 6, 6]);
        CollectionAssert.AreEqual(theirGraph.Graph.Node.Select(n => n.ToString()).ToList(), ourGraph.Graph.Node.Select(n => n.ToString()).ToList());
        Assert.IsTrue(ourGraph.Graph.Node.Any(n => n.OpType == "LeakyRelu" && Math.Abs(n.Attribute.Single().F - 0.2f) < 1e-7));
        using var twin = new Pdnn.Onnx.Import.OnnxTorchGraph(Google.Protobuf.MessageExtensions.ToByteArray(ourGraph), CPU);
        using var noGrad = no_grad();
        Assert.IsTrue(twin.Forward(x).allclose(b, rtol: 0, atol: 0), "the imported graph differs");
    }

    [TestMethod]
    public void BatchNormRejectsAnInputThatIsNotFourDimensional()
    {
        using var bn = new GcSafe.BatchNorm2d(3);
        var error = Assert.ThrowsExactly<ArgumentException>(() => bn.forward(zeros(2, 3, 4)));
        StringAssert.Contains(error.Message, "[2, 3, 4]");
    }

    /// <summary>Two copies of a tiny ResNet, one trained by each optimiser on the same batches.</summary>
    static (CifarResNet Model, optim.Optimizer Optimizer)[] Pair(Func<CifarResNet, optim.Optimizer> first, Func<CifarResNet, optim.Optimizer> second)
    {
        manual_seed(1);
        var a = new CifarResNet(ResNetSpec.Tiny, 10);
        var b = new CifarResNet(ResNetSpec.Tiny, 10);
        b.load_state_dict(a.state_dict());
        return [(a, first(a)), (b, second(b))];
    }

    static void Steps((CifarResNet Model, optim.Optimizer Optimizer)[] pair, int count, int seed, double lr)
    {
        manual_seed(seed);
        for (int i = 0; i < count; i++)
        {
            var x = rand(16, 3, 32, 32);
            var y = randint(0, 10, [16]);
            foreach (var (model, optimizer) in pair)
            {
                foreach (var group in optimizer.ParamGroups) group.LearningRate = lr * (i + 1);
                optimizer.zero_grad();
                nn.functional.cross_entropy(model.forward(x), y).backward();
                optimizer.step();
            }
        }
    }

    static void AssertSameWeights(CifarResNet expected, CifarResNet actual, string when)
    {
        var reference = expected.state_dict();
        foreach (var (name, value) in actual.state_dict())
            Assert.IsTrue(value.allclose(reference[name], rtol: 0, atol: 0), $"{name} differs {when}");
    }

    [TestMethod]
    public void SgdStepsExactlyAsTorchSharpsWithMomentumWeightDecayAndAChangingRate()
    {
        var pair = Pair(m => optim.SGD(m.parameters(), 0.05, momentum: 0.9, weight_decay: 5e-4),
                        m => new GcSafe.SGD(m.parameters(), 0.05, momentum: 0.9, weightDecay: 5e-4));
        Steps(pair, 4, seed: 2, lr: 0.02);
        AssertSameWeights(pair[0].Model, pair[1].Model, "after four steps with a changing learning rate");
    }

    [TestMethod]
    public void AdamStepsExactlyAsTorchSharpsWithWeightDecayAndAChangingRate()
    {
        var pair = Pair(m => optim.Adam(m.parameters(), 1e-3, weight_decay: 1e-4),
                        m => new GcSafe.Adam(m.parameters(), 1e-3, weightDecay: 1e-4));
        Steps(pair, 4, seed: 5, lr: 1e-3);
        AssertSameWeights(pair[0].Model, pair[1].Model, "after four steps with a changing learning rate");
    }

    static optim.Optimizer TorchSharps(string kind, CifarResNet m) => kind == "sgd"
        ? optim.SGD(m.parameters(), 0.05, momentum: 0.9, weight_decay: 5e-4)
        : optim.Adam(m.parameters(), 1e-3);

    static optim.Optimizer Ours(string kind, CifarResNet m) => kind == "sgd"
        ? new GcSafe.SGD(m.parameters(), 0.05, momentum: 0.9, weightDecay: 5e-4)
        : new GcSafe.Adam(m.parameters(), 1e-3);

    [TestMethod]
    [DataRow("sgd")]
    [DataRow("adam")]
    public void ResumesFromTorchSharpsStateFile(string kind)
    {
        // A checkpoint written by TorchSharp's optimiser (runs checkpointed before GcSafe, such as the GPU runs of 2026-11-26) resumes with its state intact.
        var dir = Directory.CreateTempSubdirectory("pdnn-optimiser-").FullName;
        try
        {
            var pair = Pair(m => TorchSharps(kind, m), m => TorchSharps(kind, m));
            double lr = kind == "sgd" ? 0.05 : 1e-3;
            Steps(pair, 2, seed: 3, lr);
            ((OptimizerHelper)pair[1].Optimizer).save_state_dict(Path.Combine(dir, "optimizer.bin"));
            var resumed = (OptimizerHelper)Ours(kind, pair[1].Model);
            resumed.load_state_dict(Path.Combine(dir, "optimizer.bin"));
            pair[1] = (pair[1].Model, resumed);
            Steps(pair, 2, seed: 4, lr);
            AssertSameWeights(pair[0].Model, pair[1].Model, $"after resuming TorchSharp's {kind} state");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
