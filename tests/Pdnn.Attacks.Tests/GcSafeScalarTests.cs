using System.Reflection;
using Pdnn.Attacks.Attacks;
using Pdnn.Onnx.Import;
using Pdnn.Torch;
using Pdnn.Torch.Models;
using Pdnn.Torch.Models.Recreation;
using Pdnn.Torch.Training;
using Pdnn.Torch.Training.Adversarial;
using Pdnn.Torch.Training.Recreation;
using TorchSharp;
using static TorchSharp.torch;

namespace Pdnn.Attacks.Tests;

/// <summary>
/// The code that runs many times per batch (forward passes of every model and of the ONNX twin, attack steps, training
/// steps) makes no TorchSharp scalar by implicit conversion: each such scalar can be freed by another thread's garbage
/// collection while libtorch reads it (TorchSharp 0.107; see GcSafe and the README). One-off code may still convert.
/// </summary>
[TestClass]
public sealed class GcSafeScalarTests
{
    static readonly ImplicitScalarScan Scan = new(typeof(GcSafeScalarTests).Assembly, typeof(Attack).Assembly, typeof(CifarResNet).Assembly, typeof(OnnxTorchGraph).Assembly);

    [TestMethod]
    public void TheScanFindsTheConversionsItLooksFor()
    {
        // Tensor + tensor is add(b, 1) inside TorchSharp; a number passed to clamp converts in our own IL.
        Assert.IsTrue(Scan.MakesImplicitScalar(Method(nameof(AddsTensors))));
        Assert.IsTrue(Scan.MakesImplicitScalar(Method(nameof(ClampsWithNumbers))));
        Assert.IsFalse(Scan.MakesImplicitScalar(Method(nameof(AddsWithAHeldScalar))));
        Assert.IsTrue(Scan.MakesImplicitScalar(typeof(TorchSharp.Modules.BatchNorm2d).GetMethod("forward", [typeof(Tensor)])!),
            "TorchSharp's BatchNorm2d, the case seen in CI, must be found");
        Assert.IsFalse(Scan.MakesImplicitScalar(typeof(GcSafe.BatchNorm2d).GetMethod("forward", [typeof(Tensor)])!));
    }

    [TestMethod]
    public void ModelForwardPassesMakeNoImplicitScalars()
    {
        nn.Module<Tensor, Tensor>[] models =
        [
            new CifarResNet(ResNetSpec.ResNet20, 10), new SrGenerator(SrGeneratorSpec.Lite),
            new SrDiscriminator(16), new Inpainter(InpainterSpec.Lite),
        ];
        var forwards = models.SelectMany(m => m.modules().Prepend(m)).Select(m => m.GetType()).Distinct()
            .Select(t => t.GetMethod("forward", [typeof(Tensor)])).OfType<MethodInfo>();
        AssertNone(forwards.Append(typeof(OnnxTorchGraph).GetMethod("Run", BindingFlags.NonPublic | BindingFlags.Instance)!)
            .Append(typeof(OnnxTorchGraph).GetMethod(nameof(OnnxTorchGraph.Forward))!)
            .Concat(Declared(typeof(Recreations))));
    }

    [TestMethod]
    public void AttackStepsMakeNoImplicitScalars() =>
        AssertNone(typeof(Attack).Assembly.GetTypes().Where(t => typeof(Attack).IsAssignableFrom(t)).Append(typeof(Bpda)).SelectMany(Declared));

    [TestMethod]
    public void TrainingStepsMakeNoImplicitScalars() =>
        AssertNone(new[] { typeof(TrainingAdversary), typeof(WeightAverage), typeof(Augmentation), typeof(DeviceImages) }.SelectMany(Declared)
            .Concat(typeof(RecreationTraining).GetMethods().Where(m => m.Name is nameof(RecreationTraining.Corrupt) or nameof(RecreationTraining.RandomMasks)))
            .Concat(Lambdas(typeof(RecreationTraining)))); // the SRGAN and inpainter losses, run at every step

    static void AssertNone(IEnumerable<MethodBase> methods)
    {
        var found = methods.Where(Scan.MakesImplicitScalar)
            .Select(m => $"{m.DeclaringType?.FullName}.{m.Name}: {string.Join(", ", Scan.Culprits(m))}").Distinct().ToList();
        Assert.IsEmpty(found, "implicit TorchSharp scalars in per-batch code:\n" + string.Join("\n", found));
    }

    /// <summary>The methods and lambdas a type declares (constructors and static initialisers run once: left out).</summary>
    static IEnumerable<MethodBase> Declared(Type type) =>
        Lambdas(type).Concat(type.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly));

    /// <summary>The lambdas and local functions of a type: the compiler puts them in nested "&lt;&gt;c" classes.</summary>
    static IEnumerable<MethodBase> Lambdas(Type type) =>
        type.GetNestedTypes(BindingFlags.NonPublic).Where(n => n.Name.StartsWith("<>c", StringComparison.Ordinal)).SelectMany(Declared);

    static MethodInfo Method(string name) => typeof(GcSafeScalarTests).GetMethod(name, BindingFlags.NonPublic | BindingFlags.Static)!;
    static Tensor AddsTensors(Tensor a, Tensor b) => a + b;
    static Tensor ClampsWithNumbers(Tensor a) => a.clamp(0, 1);
    static Tensor AddsWithAHeldScalar(Tensor a, Tensor b, Scalar one) => a.add(b, one);
}
