using Microsoft.ML;
using Pdnn.MLNet.Transforms;

namespace Pdnn.MLNet;

/// <summary>
/// The defences of the paper as ML.NET chains over the models shipped in <c>models/</c> (ONNX files): the plain
/// ResNet-20, NSR and FIR (each with the classifier fine-tuned on its recreations when there is one), the
/// pre-processing baselines (feature squeezing, spatial smoothing, JPEG) in front of the plain ResNet-20, and label
/// smoothing (LS: the ResNet-20 fine-tuned with smoothed labels).
/// </summary>
public static class ShippedModels
{
    public static readonly string[] Defences = ["none", "nsr", "fir", "fs", "ss", "jpeg", "ls"];

    /// <summary>NSR's δ (paper, Table 3: Gaussian variance 0.01 and salt-and-pepper 0.01).</summary>
    public static readonly NoiseOptions NsrNoise = new() { GaussianVariance = 0.01, SaltProbability = 0.01, PepperProbability = 0.01 };

    /// <summary>A human name of the defence, for tables.</summary>
    public static string Describe(string defence, int grid = 1) => defence switch
    {
        "none" => "ResNet-20, no defence",
        "nsr" => "NSR (lite SR; Gaussian 0.01 + s&p 0.01)",
        "fir" => $"FIR (lite inpainter, g={grid}, 10 masks)",
        "fs" => "FS: 4-bit squeezing",
        "ss" => "SS: 2x2 median",
        "jpeg" => "JPEG (quality 75)",
        "ls" => "LS: ResNet-20 fine-tuned with label smoothing 0.1",
        _ => throw Unknown(defence),
    };

    static ArgumentException Unknown(string defence) => new($"defence '{defence}': expected one of {string.Join(", ", Defences)}.");

    /// <summary>
    /// The chain of <paramref name="defence"/> reading column "Image" (3x32x32 in [0,1]); models from <paramref name="models"/>.
    /// <paramref name="randomness"/>: NSR's noise fresh per call (the paper's) or a function of the image (serving).
    /// </summary>
    public static IEstimator<ITransformer> Chain(MLContext ml, string models, string defence, int grid = 1, int seed = 0,
                                                 Execution.RandomnessKey randomness = Execution.RandomnessKey.PerCall)
    {
        string File(string folder, string file)
        {
            var path = Path.Combine(models, folder, file);
            return System.IO.File.Exists(path) ? path : throw new FileNotFoundException($"shipped model {path} not found (defence '{defence}'); is --models the repository's models folder?");
        }
        string Tuned(string recreation) =>
            System.IO.File.Exists(Path.Combine(models, $"resnet20-cifar10-on-{recreation}", "classifier.onnx"))
                ? Path.Combine(models, $"resnet20-cifar10-on-{recreation}", "classifier.onnx") : File("resnet20-cifar10", "classifier.onnx");
        var classifier = ml.Transforms.RobustClassify(File("resnet20-cifar10", "classifier.onnx"));
        return defence switch
        {
            "none" => classifier,
            "nsr" => ml.Transforms.NoisyCorrupt("Image", NsrNoise, seed: seed, randomness: randomness)
                .Append(ml.Transforms.SuperResolve("Image", File("sr-lite-cifar10", "sr-generator.onnx")))
                .Append(ml.Transforms.RobustClassify(Tuned("sr-lite"))),
            "fir" => ml.Transforms.MaskedInpaintAggregate("Image", File($"inpainter-lite-g{grid}-cifar10", "inpainter.onnx"), gridCell: grid, seed: seed)
                .Append(ml.Transforms.RobustClassify(Tuned($"inpainter-lite-g{grid}"))),
            "fs" => ml.Transforms.FeatureSqueeze("Image", bits: 4).Append(classifier),
            "ss" => ml.Transforms.SpatialSmoothing("Image", window: 2).Append(classifier),
            "jpeg" => ml.Transforms.JpegCompression("Image", quality: 75).Append(classifier),
            "ls" => ml.Transforms.RobustClassify(File("resnet20-cifar10-ls", "classifier.onnx")),
            _ => throw Unknown(defence),
        };
    }

    /// <summary>The repository's models folder: from the working folder or the app's folder upwards.</summary>
    public static string? FindFolder()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir != null; dir = dir.Parent)
                if (System.IO.File.Exists(Path.Combine(dir.FullName, "models", "resnet20-cifar10", "classifier.onnx")))
                    return Path.Combine(dir.FullName, "models");
        return null;
    }
}
